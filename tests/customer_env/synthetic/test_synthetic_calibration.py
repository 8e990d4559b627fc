"""The generated store matches the published OPeRA-filtered marginals."""

from __future__ import annotations

import statistics

from customer_env.synthetic import calibration_table, format_calibration_table
from customer_env.synthetic.pages import PageContext, render_page
from customer_env.synthetic.plan import build_plan


def test_calibration_matches_the_published_marginals(default_size_store):
    table = {row.metric: row for row in calibration_table(default_size_store)}
    value = {m: r.generated for m, r in table.items()}
    for kind in ("click", "input", "terminate"):
        row = table[f"action type {kind} %"]
        assert abs(row.generated - row.published) <= 3, row
    for kind in ("review", "search", "product_option", "product_link", "other"):
        row = table[f"click type {kind} %"]
        assert abs(row.generated - row.published) <= 4, row
    assert value["click types present"] == 13
    assert value["semantic ids with several click types"] == 0
    assert 5 <= value["steps per session median"] <= 10
    assert 8.5 <= value["steps per session mean"] <= 14
    assert value["steps per session max"] >= 60
    assert 52 <= value["sessions with a purchase %"] <= 70
    assert 32 <= value["sessions ending in terminate %"] <= 48
    assert 2.5 <= value["steps with a rationale %"] <= 5
    assert value["sessions (train)"] + value["sessions (test)"] == 500
    assert 75 <= value["sessions (test)"] <= 95
    assert value["test users"] == 15 and value["test users also in train"] == 12
    text = format_calibration_table(list(table.values()))
    assert text.splitlines()[0].split() == ["metric", "generated", "published"]


def test_page_lengths_at_full_scale_look_like_the_real_data():
    plan = build_plan(seed=0)
    ctx = PageContext(seed=0, scale=1.0)
    lengths = sorted(
        len(render_page(step.view, ctx, key=(s.index,))) for s in plan.sessions[::8] for step in s.sim.steps
    )
    assert len(lengths) > 400
    assert 80_000 <= statistics.median(lengths) <= 130_000
    assert 2_800 <= lengths[0] <= 12_000
    assert 300_000 <= lengths[-1] <= 626_000
