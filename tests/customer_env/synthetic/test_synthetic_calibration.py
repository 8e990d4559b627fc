"""The generated store matches the published OPeRA-filtered marginals."""

from __future__ import annotations

import statistics

import pytest

from customer_env.synthetic import calibration_table, format_calibration_table
from customer_env.synthetic.calibration import (
    MARGINAL_TOLERANCES,
    PUBLISHED,
    action_marginals,
    out_of_tolerance,
)
from customer_env.synthetic.pages import PageContext, render_page
from customer_env.synthetic.plan import build_plan


def test_calibration_matches_the_published_marginals(default_size_store):
    table = {row.metric: row for row in calibration_table(default_size_store)}
    value = {m: r.generated for m, r in table.items()}
    assert out_of_tolerance(value) == []
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


def _actions(plan) -> list[tuple[str, str | None]]:
    return [(st.action.type, st.action.click_type) for s in plan.sessions for st in s.sim.steps]


def test_the_plan_gives_the_store_s_marginals(default_size_store):
    table = {row.metric: row.generated for row in calibration_table(default_size_store)}
    from_plan = action_marginals(_actions(build_plan(seed=0)))
    bounded = list(MARGINAL_TOLERANCES)
    assert {m: round(from_plan[m], 2) for m in bounded} == {m: table[m] for m in bounded}


@pytest.mark.parametrize("seed", range(10))
def test_every_seed_meets_the_published_marginals(seed):
    plan = build_plan(seed=seed)  # the CLI's default store (50 users, 500 sessions); no pages
    assert out_of_tolerance(action_marginals(_actions(plan))) == []
    # Generator 1.0.0 missed on seeds 1 and 8 (26.2% and 26.9% review clicks, published 20.8%)
    # because the ten most review-heavy sessions held about 40% of all review clicks.
    per_session = sorted((sum(st.action.click_type == "review" for st in s.sim.steps) for s in plan.sessions),
                         reverse=True)
    assert sum(per_session[:10]) < 0.3 * sum(per_session)


def test_the_bounded_click_types_are_the_five_most_common_published_ones():
    published = {m: v for m, v in PUBLISHED.items() if m.startswith("click type ") and m.endswith(" %") and v}
    top_five = sorted(published, key=lambda m: -published[m])[:5]
    assert {m for m in MARGINAL_TOLERANCES if m.startswith("click type")} == set(top_five)
    assert len(out_of_tolerance({})) == len(MARGINAL_TOLERANCES)  # a missing marginal is a miss
