"""Behaviour: gold targets exist on their pages, click types are consistent, and the persona and
the session so far measurably shape what the shopper does."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from synthetic_store_reading import action_rows, sessions_of, survey_score, users

from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import build_catalogue
from customer_env.synthetic.personas import CSI_KEY, LIKERT_KEY
from customer_env.synthetic.plan import build_plan


def test_every_gold_target_is_a_name_on_the_page_before_the_action(tiny_store):
    checked = 0
    for r in action_rows(tiny_store):
        if r["action_type"] in ("click", "input"):
            assert f'name="{r["semantic_id"]}"' in r["simplified_html"], (r["session_id"], r["semantic_id"])
            checked += 1
    assert checked > 300


def test_each_semantic_id_has_exactly_one_click_type(default_size_store):
    types = defaultdict(set)
    for r in action_rows(default_size_store, columns=["action_type", "semantic_id", "click_type"]):
        if r["action_type"] == "click":
            types[r["semantic_id"]].add(r["click_type"])
    assert len(types) > 200
    assert {sid: t for sid, t in types.items() if len(t) > 1} == {}


def _user_sessions(root):
    """(user row, ordered session rows) for every session of both splits."""
    by_user = {u["user_id"]: u for split in ("train", "test") for u in users(root, split)}
    rows = action_rows(
        root,
        columns=[
            "session_id",
            "timestamp",
            "action_id",
            "action_type",
            "click_type",
            "semantic_id",
            "element_meta",
            "products",
        ],
    )
    return [(by_user[sid.split("_")[0]], steps) for sid, steps in sessions_of(rows).items()]


def _share(groups, predicate):
    return sum(1 for _, steps in groups if any(predicate(r) for r in steps)) / max(1, len(groups))


def _split_by(sessions, section, item, high=4, low=2):
    """Sessions of shoppers who answered ``item`` with >= ``high`` and with <= ``low``."""
    scores = [(survey_score(user, section, item), (user, steps)) for user, steps in sessions]
    return [s for score, s in scores if score >= high], [s for score, s in scores if score <= low]


def _sorts_or_filters_by_price(row):
    sid = row["semantic_id"] or ""
    return sid == "sort_by.price_low_to_high" or sid.startswith("filters.price.")


def test_price_conscious_shoppers_sort_and_filter_by_price_more(default_size_store):
    high, low = _split_by(_user_sessions(default_size_store), CSI_KEY, "Price consciousness")
    assert len(high) > 30 and len(low) > 30
    assert _share(high, _sorts_or_filters_by_price) > 2 * _share(low, _sorts_or_filters_by_price) + 0.1


def test_brand_loyal_shoppers_filter_by_brand_more(default_size_store):
    high, low = _split_by(_user_sessions(default_size_store), CSI_KEY, "Brand loyalty")

    def by_brand(row):
        return (row["semantic_id"] or "").startswith("filters.brand.")

    assert _share(high, by_brand) > 2 * _share(low, by_brand) + 0.05


def test_review_readers_open_reviews_more(default_size_store):
    high, low = _split_by(_user_sessions(default_size_store), LIKERT_KEY, "I read customer reviews")

    def per_session(group):
        return statistics.fmean(sum(r["click_type"] == "review" for r in steps) for _, steps in group)

    assert per_session(high) > 2 * per_session(low)


def test_impulsive_shoppers_buy_in_fewer_steps(default_size_store):
    high, low = _split_by(_user_sessions(default_size_store), CSI_KEY, "Impulsiveness")

    def steps_to_purchase(group):
        return [
            next(i for i, r in enumerate(steps) if r["click_type"] == "purchase") + 1
            for _, steps in group
            if any(r["click_type"] == "purchase" for r in steps)
        ]

    assert statistics.median(steps_to_purchase(high)) < statistics.median(steps_to_purchase(low))


def test_price_conscious_shoppers_choose_cheaper_results():
    plan = build_plan(seed=0)
    cat = build_catalogue(0)
    ranks: dict[str, list[float]] = {"high": [], "low": []}
    for session in plan.sessions:
        price = session.user.profile.price
        group = "high" if price >= 0.75 else "low" if price <= 0.25 else None
        for step in session.sim.steps:
            if group and isinstance(step.view, views.SearchView) and step.action.click_type == "product_link":
                listed = sorted({cat.by_asin[a].price for a in step.view.results[:12]})
                chosen = cat.by_asin[step.action.meta_data["asin"]].price
                ranks[group].append(
                    listed.index(chosen) / max(1, len(listed) - 1) if chosen in listed else 0.0
                )
    assert len(ranks["high"]) > 20 and len(ranks["low"]) > 20
    assert statistics.fmean(ranks["high"]) < statistics.fmean(ranks["low"]) - 0.1


def test_learnable_sequences_hold(default_size_store):
    """Regularities a model can learn from the history: search box -> type; add to cart -> cart."""
    following = defaultdict(Counter)
    for _, steps in _user_sessions(default_size_store):
        for a, b in zip(steps, steps[1:]):
            following[(a["action_type"], a["semantic_id"])][(b["action_type"], b["semantic_id"])] += 1
    after_box = following[("click", names.SEARCH_INPUT.name)]
    assert after_box[("input", names.SEARCH_INPUT.name)] / sum(after_box.values()) > 0.95
    after_dropdown = following[("click", names.SORT_DROPDOWN.name)]
    assert all(sid.startswith("sort_by.") for _, sid in after_dropdown)
    after_side_bar = following[("click", names.SIDE_BAR_GO_TO_CART.name)]
    assert sum(after_side_bar.values()) > 10
    # On the cart page: untick/delete older items or raise a quantity, then check out (or leave).
    assert all(
        kind == "terminate" or sid.startswith("cart.") or sid == names.CHECK_OUT.name
        for kind, sid in after_side_bar
    )
    assert after_side_bar.most_common(1)[0][0] == ("click", names.CHECK_OUT.name)


def test_some_steps_carry_short_first_person_rationales(default_size_store):
    rows = action_rows(default_size_store, columns=["rationale"])
    rationales = [r["rationale"] for r in rows if r["rationale"]]
    assert 0.02 < len(rationales) / len(rows) < 0.05
    assert all(len(t) < 120 for t in rationales)
    assert any(" I " in f" {t} " or t.startswith(("I", "I'")) for t in rationales)
