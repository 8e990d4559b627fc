"""render_observation: the budget policy, in order, and nothing cut silently."""

from __future__ import annotations

import inspect
import re
import time

import pytest

from customer_env.prompt import (
    DETAIL_LEVELS,
    SYSTEM_PROMPT,
    CharRatioCounter,
    HistoryItem,
    build_messages,
    compress_page,
    render_observation,
)
from customer_env.prompt.render import DEFAULT_TEMPLATE_MARGIN, action_json
from customer_env.records import Action
from opera_pages import CART_PAGE, LONG_SLUG, PRODUCT_PAGE, SEARCH_PAGE

PERSONA = ("About me:\nI am a 34-year-old nurse in Ohio who compares prices before buying anything.\n\n"
           "Shopping preferences:\n- Price consciousness: 5\n- Reads reviews: always")

HISTORY = (
    HistoryItem(Action("input", "nav_bar.search_input", "rice cooker"), "I need a\n new rice cooker.",
                SEARCH_PAGE, url="https://www.amazon.com/"),
    HistoryItem(Action("click", f"4_stars_and_above.{LONG_SLUG}.product_title"), None, SEARCH_PAGE,
                url="https://www.amazon.com/s?k=rice+cooker"),
    HistoryItem(Action("click", "product_options.color.button_list.white"), "White fits my kitchen.",
                PRODUCT_PAGE, url="https://www.amazon.com/dp/B00WO6EK54"),
    HistoryItem(Action("click", "buybox.purchase_form.add_to_cart"), None, PRODUCT_PAGE,
                url="https://www.amazon.com/dp/B00WO6EK54"),
)


def _render(max_tokens: int, page: str = CART_PAGE, **kwargs):
    return render_observation(PERSONA, HISTORY, page, url="https://www.amazon.com/cart",
                              max_tokens=max_tokens, **kwargs)


def _kept_pages(history_text: str) -> list[int]:
    return [int(n) for n in re.findall(r"^Page before step (\d+)", history_text, flags=re.M)]


def _recount(rendered, counter=None) -> int:
    counter = counter or CharRatioCounter()
    return sum(counter.count(m["content"]) for m in build_messages(rendered.observation)) + DEFAULT_TEMPLATE_MARGIN


def _assert_invariants(rendered, page: str = CART_PAGE) -> None:
    """What holds at every budget: system and persona whole and first, every past action kept."""
    system, user = rendered.messages
    assert system["content"] == SYSTEM_PROMPT
    assert user["content"].startswith("## Persona\n" + PERSONA + "\n")
    history = rendered.observation["history"]
    for i, item in enumerate(HISTORY):
        assert f"Step {i + 1}: {action_json(item.action)}" in history
    assert "Rationale: I need a new rice cooker." in history
    assert rendered.prompt_tokens == rendered.report.prompt_tokens == _recount(rendered)
    assert rendered.names == compress_page(page).names


def test_observation_has_exactly_the_contract_keys():
    rendered = _render(16384)
    assert set(rendered.observation) == {"persona", "page", "history", "url", "actionable_names"}
    assert all(isinstance(v, str) for v in rendered.observation.values())
    assert rendered.observation["actionable_names"].split("\n") == list(compress_page(CART_PAGE).names)


def test_a_large_budget_keeps_everything():
    rendered = _render(100_000)
    _assert_invariants(rendered)
    report = rendered.report
    assert report.fits and report.within_budget
    assert report.history_pages_kept == 4 and report.history_pages_dropped == 0
    assert report.page_label_chars == DETAIL_LEVELS[0].label_chars
    assert _kept_pages(rendered.observation["history"]) == [1, 2, 3, 4]
    assert "(URL: https://www.amazon.com/s?k=rice+cooker)" in rendered.observation["history"]
    assert report.notes == []


def test_past_pages_are_dropped_oldest_first_and_said_so():
    everything = _render(100_000)
    full, fixed = everything.prompt_tokens, everything.report.fixed_tokens
    seen_counts = set()
    for budget in range(full + 20, fixed + 100, -10):  # piecewise counts round up a little
        rendered = _render(budget)
        _assert_invariants(rendered)
        assert rendered.prompt_tokens <= budget
        kept = _kept_pages(rendered.observation["history"])
        k = len(kept)
        assert kept == list(range(5 - k, 5)), f"budget {budget}: kept {kept} is not the newest pages"
        assert rendered.report.history_pages_kept == k and rendered.report.history_pages_dropped == 4 - k
        if k < 4:
            assert "are omitted to fit the context" in rendered.observation["history"]
            assert any("oldest first" in n for n in rendered.report.notes)
        seen_counts.add(k)
    assert {0, 1, 2, 3, 4} <= seen_counts


def test_the_current_page_steps_down_to_names_only_but_keeps_every_name(big_page):
    names = compress_page(big_page).names
    levels = []
    for budget in (60_000, 16_384, 13_000, 11_000, 9_000, 8_000):
        rendered = _render(budget, page=big_page)
        _assert_invariants(rendered, big_page)
        report = rendered.report
        levels.append(report.page_label_chars)
        if report.page_elements_dropped == 0:
            assert report.fits
            for name in names:
                assert f'name="{name}"' in rendered.observation["page"]
        assert rendered.prompt_tokens <= budget
    assert levels == sorted(levels, reverse=True)
    assert levels[0] == DETAIL_LEVELS[0].label_chars and levels[-1] == 0
    assert len(set(levels)) >= 3  # an intermediate label length was used on the way down


def test_when_names_only_does_not_fit_elements_are_dropped_from_the_end_with_a_marker(big_page):
    rendered = _render(4000, page=big_page)
    _assert_invariants(rendered, big_page)
    report = rendered.report
    page = rendered.observation["page"]
    assert not report.fits and report.within_budget
    assert report.page_label_chars == 0 and report.page_elements_dropped > 0
    assert page.endswith(f"<!-- {report.page_elements_dropped} elements omitted to fit the budget -->")
    assert page.startswith('<div name="nav_bar"')  # the beginning of the page is what stays
    assert any("omitted from the end" in n for n in report.notes)
    assert report.history_pages_kept == 0
    # The names of the whole page are still the valid targets.
    assert len(rendered.names) == len(compress_page(big_page).names)


def test_a_budget_below_the_fixed_part_is_reported_and_cuts_nothing_fixed():
    rendered = _render(300)
    _assert_invariants(rendered)
    report = rendered.report
    assert not report.within_budget and not report.fits
    assert report.fixed_tokens > 300
    assert any("over the budget" in n for n in report.notes)


def test_rendering_takes_no_gold_argument():
    params = inspect.signature(render_observation).parameters
    assert not [p for p in params if "gold" in p or "target" in p or "answer" in p]


def test_rendering_is_deterministic_and_a_precomputed_page_gives_the_same_prompt(big_page):
    cached = tuple(HistoryItem(h.action, h.rationale, None, h.url, compress_page(h.page_html)) for h in HISTORY)
    for budget in (100_000, 12_000, 3000):
        a = _render(budget, page=big_page)
        b = render_observation(PERSONA, cached, compress_page(big_page), url="https://www.amazon.com/cart",
                               max_tokens=budget)
        assert a.observation == b.observation and a.report == b.report


def test_history_pages_can_be_turned_off_or_capped():
    off = _render(100_000, include_history_pages=False)
    assert _kept_pages(off.observation["history"]) == [] and "omitted" not in off.observation["history"]
    assert off.report.history_pages_kept == 0 and off.report.history_pages_dropped == 0
    capped = _render(100_000, history_page_chars=300)
    blocks = capped.observation["history"].split("Page before step ")[1:]
    assert len(blocks) == 4 and all("elements omitted to fit the budget" in b for b in blocks)


def test_no_persona_and_empty_history_render_placeholders():
    rendered = render_observation(None, [], "", max_tokens=2000)
    user = rendered.messages[1]["content"]
    assert rendered.observation["persona"] == "" and "(no persona given)" in user
    assert "(the page is empty)" in user and rendered.names == () and rendered.report.fits


def test_rendering_is_fast_with_cached_pages(big_page):
    cached_page = compress_page(big_page)
    history = [HistoryItem(Action("click", "pagination.2"), None, None, "u", cached_page)] * 20
    start = time.perf_counter()
    for _ in range(5):
        rendered = render_observation(PERSONA, history, cached_page, max_tokens=16384)
    per_render = (time.perf_counter() - start) / 5
    print(f"\nrender with a 100k page and 20 cached past pages: {1000 * per_render:.1f} ms, "
          f"{rendered.prompt_tokens} tokens, label_chars={rendered.report.page_label_chars}")
    assert rendered.prompt_tokens <= 16384


@pytest.mark.parametrize("margin", [0, 500])
def test_template_margin_is_part_of_the_budget(margin):
    rendered = _render(6000, template_margin=margin)
    counted = sum(CharRatioCounter().count(m["content"]) for m in rendered.messages) + margin
    assert rendered.prompt_tokens == counted <= 6000


def test_a_past_step_without_a_page_does_not_stop_older_pages():
    history = (HISTORY[0], HistoryItem(Action("click", "reviews"), None, None, "u"),
               HistoryItem(Action("click", "reviews"), None, "", "u", compress_page("")), HISTORY[2])
    rendered = render_observation(PERSONA, history, CART_PAGE, max_tokens=100_000)
    assert _kept_pages(rendered.observation["history"]) == [1, 4]
    assert rendered.report.history_pages_available == 2 and rendered.report.history_pages_dropped == 0


def test_history_lines_are_the_same_however_often_and_whatever_the_action_holds():
    first = _render(100_000).observation["history"]
    assert _render(100_000).observation["history"] == first  # lines remembered from the first call
    assert "Step 1: " + action_json(HISTORY[0].action) + " | Rationale: I need a new rice cooker." in first
    # An action field that cannot be a cache key (a list) is still written out.
    odd = HistoryItem(Action("input", "nav_bar.search_input", ["rice", "cooker"]), "Typed.", None)  # type: ignore[arg-type]
    history = render_observation(PERSONA, [odd], CART_PAGE).observation["history"]
    assert history == 'Step 1: {"type": "input", "name": "nav_bar.search_input", "text": ["rice", "cooker"]} | Rationale: Typed.'
