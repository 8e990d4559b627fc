"""Tables show the headline keys docs/METRICS.md defines."""

from __future__ import annotations

from agents.report import comparison_table, metrics_table
from customer_env import metrics as m
from customer_env.records import Action


def _metrics(grounded):
    buy = Action("click", "buybox.buy_now", click_type="purchase")
    records = [m.StepRecord("s", 0, "u", buy, Action("click", "buybox.buy_now"), grounded=grounded),
               m.StepRecord("t", 0, "u", Action("terminate"), Action("click", "x"),
                            grounded=None if grounded is None else False)]
    return m.evaluate(records, m.ClickTypeLookup.from_actions([buy]), n_bootstrap=0)


def test_metrics_table_has_the_session_outcome_headline_and_grounding():
    table = metrics_table(_metrics(True))
    assert "| session_outcome_weighted_f1 |" in table and "| action_type_accuracy |" in table
    assert "| grounding_rate | 50.00 |" in table and "| format_validity | 100.00 |" in table
    assert "| outcome_f1 |" not in table and "not the paper's outcome" in table
    assert "| grounding_rate | n/a | not measured |" in metrics_table(_metrics(None))


def test_comparison_table_columns():
    table = comparison_table([("a", _metrics(True)), ("b", _metrics(None))])
    header = table.splitlines()[0]
    for column in ("type acc", "session outcome wF1", "format valid", "grounded"):
        assert f"| {column} |" in header
    assert "outcome F1 |" not in header
    row_b = table.splitlines()[3]
    assert row_b.startswith("| b |") and "| n/a |" in row_b


# --------------------------------------------------------------- intervals, paired differences, plots
import pytest  # noqa: E402

from agents import report  # noqa: E402

REVIEW = Action("click", "reviews", click_type="review")
LOOKUP = m.ClickTypeLookup.from_actions([REVIEW])


def _records(n_sessions, *, wrong_in=()):
    return [m.StepRecord(f"s{k:02d}", i, "u", REVIEW, Action("terminate") if (k in wrong_in or i == k % 2) else REVIEW,
                         grounded=True) for k in range(n_sessions) for i in range(2)]


def _run(n_sessions, n_bootstrap=200, **kw):
    records = _records(n_sessions, **kw)
    return records, m.evaluate(records, LOOKUP, n_bootstrap=n_bootstrap)


def test_comparison_table_gives_intervals_and_paired_differences():
    base_records, base = _run(24)
    worse_records, worse = _run(24, wrong_in=(0, 1, 2, 3, 4, 5, 6, 7))
    paired = {"worse": m.paired_difference(worse_records, base_records, LOOKUP, n_bootstrap=200)}
    table = report.comparison_table([("base", base), ("worse", worse)], paired=paired, baseline="base")
    lines = table.splitlines()
    em = base["headline"]["exact_match"]
    assert lines[2].startswith(f"| base | {100 * em['value']:.2f} [{100 * em['low']:.2f}, {100 * em['high']:.2f}] |")
    assert "| minus base | exact |" in table
    diff = paired["worse"]["exact_match"]
    assert diff["high"] < 0  # worse in 8 sessions, never better: the interval excludes 0
    assert f"| worse | {100 * diff['value']:+.2f} [{100 * diff['low']:+.2f}, {100 * diff['high']:+.2f}] * |" in table
    assert "95% session-bootstrap intervals in brackets (200 resamples of the 24 sessions)" in table
    assert "WARNING" not in table and "same resampled sessions" in table


def test_tables_warn_below_20_sessions_and_say_when_the_interval_is_undefined(caplog):
    _, few = _run(5)
    assert "WARNING: only 5 sessions evaluated (fewer than 20)" in report.comparison_table([("a", few)])
    assert "WARNING: only 5 sessions evaluated" in report.metrics_table(few)
    _, one = _run(1)
    table = report.comparison_table([("a", one)])
    assert "[undefined]" not in table and "50.00 undefined" in table and "interval is undefined" in table
    assert "| exact_match | 50.00 | undefined |" in report.metrics_table(one)
    _, none = _run(24, n_bootstrap=0)
    assert "| exact_match | 50.00 | not computed |" in report.metrics_table(none)
    assert "No confidence intervals" in report.comparison_table([("a", none)])


def test_metrics_table_has_a_paired_column():
    base_records, base = _run(24)
    worse_records, worse = _run(24, wrong_in=(0, 1))
    paired = m.paired_difference(worse_records, base_records, LOOKUP, n_bootstrap=100)
    table = report.metrics_table(worse, paired=paired, baseline="base")
    assert "| metric | value | 95% CI | minus base (points) [paired 95% CI] |" in table
    row = next(line for line in table.splitlines() if line.startswith("| exact_match |"))
    assert row.endswith(f"| {100 * paired['exact_match']['value']:+.2f} [{100 * paired['exact_match']['low']:+.2f}, "
                        f"{100 * paired['exact_match']['high']:+.2f}] |")


def _figure_texts(monkeypatch):
    """Capture what the plot functions draw instead of only the PNG bytes."""
    seen = {}
    real_save = report._save

    def save(fig, path):
        seen["texts"] = [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]
        return real_save(fig, path)

    monkeypatch.setattr(report, "_save", save)
    return seen


def test_exact_match_plot_shows_intervals_the_basis_and_the_baseline(tmp_path, monkeypatch):
    seen = _figure_texts(monkeypatch)
    _, a = _run(5)
    _, b = _run(5, wrong_in=(0,))
    path = report.plot_exact_match([("a", a), ("b", b)], tmp_path / "exact_match.png", baseline="a")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = "\n".join(seen["texts"])
    em = a["headline"]["exact_match"]
    assert f"{100 * em['value']:.1f}% [{100 * em['low']:.1f}, {100 * em['high']:.1f}]" in text
    assert "10 steps, 5 sessions" in text and "WARNING: only 5 sessions" in text and "baseline: a" in text
    _, one = _run(1)
    report.plot_exact_match([("one", one)], tmp_path / "one.png")
    assert any("(no interval)" in t for t in seen["texts"])


def test_distribution_plot_names_its_basis_and_the_human_reference(tmp_path, monkeypatch):
    seen = _figure_texts(monkeypatch)
    records = _records(24)
    report.plot_distributions([("a", records)], LOOKUP, tmp_path / "d.png")
    text = "\n".join(seen["texts"])
    assert "48 steps, 24 sessions" in text and "human (reference), n=48" in text and "WARNING" not in text
    with pytest.raises(ValueError):
        report.plot_distributions([], LOOKUP, tmp_path / "e.png")


def test_comparison_table_marks_ceiling_rows_and_says_why():
    from agents.registry import CEILING_MARK

    table = comparison_table([("markov", _metrics(True)), ("oracle", _metrics(True))], ceiling=["oracle"])
    assert f"| oracle ({CEILING_MARK}) |" in table and "| markov |" in table
    assert "hidden session state" in table
    assert "hidden session state" not in comparison_table([("markov", _metrics(True))], ceiling=["oracle"])
