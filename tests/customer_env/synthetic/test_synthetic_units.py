"""Building blocks of the synthetic store: names, catalogue, personas, views, pages, split."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from customer_env.data.persona import persona_from_survey
from customer_env.synthetic import names, views
from customer_env.synthetic.catalogue import build_catalogue
from customer_env.synthetic.pages import PageContext, render_page
from customer_env.synthetic.personas import generate_users, profile_from_survey
from customer_env.synthetic.plan import build_plan, iso_ms, iso_us, split_counts

NAME = re.compile(r' name="([^"]*)"')


def test_slug_matches_the_real_shape():
    assert (
        names.slug("Tiger JBV-S18U 10-Cup Microcomputer Controlled 4-in-1 Rice Cooker (White)")
        == "tiger_jbv_s18u_10_cup_microcomputer_controlled_4_in_1_rice_cooker_white"
    )
    assert names.option("size", "1.7 Fl Oz").name == "product_options.size.button_list.1_7_fl_oz"


def test_time_formats():
    assert iso_ms(1744667577792) == "2025-04-14T21:52:57.792Z"
    assert iso_us(1744667566756) == "2025-04-14T21:52:46.756000Z"


def test_catalogue_ids_are_unique_and_every_brand_filter_has_products():
    cat = build_catalogue(0)
    assert len({p.asin for p in cat.products}) == len(cat.products) > 400
    assert len({names.slug(p.title) for p in cat.products}) == len(cat.products)
    for type_name, products in cat.by_type.items():
        brands = {p.brand for p in products}
        view = views.search_view(cat, type_name, cart=(), filters=(f"brand:{names.slug(sorted(brands)[0])}",))
        assert all(
            cat.by_asin[a].brand == sorted(brands)[0]
            for a in view.results
            if cat.by_asin[a].type_name == type_name
        )


def test_search_sorting_and_price_filter():
    cat = build_catalogue(0)
    view = views.search_view(cat, "air fryer", cart=(), sort="price_low_to_high")
    prices = [cat.by_asin[a].price for a in view.results if cat.by_asin[a].type_name == "air fryer"]
    assert prices == sorted(prices) and len(prices) >= 8
    cheap = views.search_view(cat, "air fryer", cart=(), filters=("price:50_to_100",))
    assert all(50 <= cat.by_asin[a].price < 100 for a in cheap.results)
    with pytest.raises(ValueError, match="unknown search filter"):
        views.search_view(cat, "air fryer", cart=(), filters=("colour:red",))


def test_behaviour_profile_is_read_back_from_the_survey_a_model_sees():
    for user in generate_users(0, 10):
        assert profile_from_survey(user.user_id, json.loads(json.dumps(user.survey))) == user.profile
        persona = persona_from_survey(user.user_id, user.survey, user.interview_summary)
        assert "Price consciousness" in persona.to_text() and persona.self_description


def test_users_are_deterministic_and_distinct():
    a, b = generate_users(0, 5), generate_users(0, 5)
    assert [u.user_id for u in a] == [u.user_id for u in b]
    assert len({u.user_id for u in a}) == 5
    assert [u.user_id for u in generate_users(1, 5)] != [u.user_id for u in a]


def test_pages_name_every_target_and_stay_within_the_name_budget():
    plan = build_plan(seed=1, users=6, sessions=30)
    ctx = PageContext(seed=1, scale=1.0)
    for session in plan.sessions:
        for step in session.sim.steps:
            page = render_page(step.view, ctx, key=(session.index,))
            found = NAME.findall(page)
            assert len(found) < 300
            if step.action.name:
                assert step.action.name in found
            assert "" in found, "some furniture has an empty name, as in OPeRA"


def test_user_disjoint_split_shares_no_user():
    plan = build_plan(seed=0, users=20, sessions=100, user_disjoint=True)
    counts = split_counts(plan)
    assert counts["shared_users"] == 0 and counts["test_sessions"] >= 10
    session_split = split_counts(build_plan(seed=0, users=20, sessions=100))
    assert session_split["shared_users"] >= 1


def test_the_package_docstring_maps_every_module():
    import customer_env.synthetic as package

    root = Path(package.__file__).parent
    modules = {p.stem for p in root.glob("*.py") if p.stem != "__init__"}
    modules |= {p.stem for p in (root / "pages").glob("*.py") if p.stem != "__init__"}
    modules.add("pages/")
    doc = package.__doc__ or ""
    assert sorted(m for m in modules if f"``{m}``" not in doc) == []
