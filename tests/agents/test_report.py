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
