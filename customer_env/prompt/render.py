"""Render one step's observation under a token budget: the one prompt renderer of the project.

The budget counts the **whole** prompt as :func:`~customer_env.prompt.messages.build_messages`
assembles it (system prompt + user message) plus ``template_margin`` tokens for the chat
template's role markers. The policy, applied in this order, never cuts silently: every decision
is in :class:`TruncationReport` and every cut is marked in the text itself.

1. The system prompt and the persona are always included, whole and first.
2. Every past action and rationale is always included (one line per past step).
3. The current page is rendered at full detail if it fits; then past pages (compressed at
   ``history_detail``) are added newest first while they fit, so they are dropped oldest first
   (as in Customer-R1) and the history says which were left out.
4. If the current page does not fit even without past pages, its labels are shortened step by
   step down to names only (``detail_levels``); no named element is ever dropped at this stage.
5. If even names only does not fit, elements are dropped from the **end** of the page, where
   ``<!-- N elements omitted to fit the budget -->`` says so, and ``report.fits`` is False.

Nothing here takes the gold action, so nothing can depend on it (a window around the target
would leak the answer).

Example:
    >>> from customer_env.records import Action
    >>> obs = render_observation("I like deals.", [HistoryItem(Action("click", "nav_bar.cart"))],
    ...                          '<a name="check_out">Proceed</a>', url="https://a/cart")
    >>> obs.names, obs.report.fits
    (('check_out',), True)
    >>> obs.observation["history"]
    'Step 1: {"type": "click", "name": "nav_bar.cart"}'
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Sequence

from customer_env.prompt.messages import SYSTEM_PROMPT, build_messages
from customer_env.prompt.observation import join_names
from customer_env.prompt.page import DETAIL_LEVELS, CompressedPage, PageDetail, compress_page
from customer_env.prompt.tokens import TokenCounter, default_counter
from customer_env.records import Action

#: Detail of past pages: shorter labels than the current page, no free text.
HISTORY_DETAIL = PageDetail(label_chars=32, attr_chars=0, free_text_chars=0)
#: Tokens reserved for the chat template (role headers, special tokens) around the two messages.
DEFAULT_TEMPLATE_MARGIN = 64
_MAX_REFITS = 4


@dataclass(frozen=True)
class HistoryItem:
    """One past step as the renderer needs it.

    Attributes:
        action: What was done at that step (the recorded or the predicted action).
        rationale: Its rationale, or None.
        page_html: The page seen before the action, or None when unknown.
        url: That page's URL.
        compressed: ``compress_page(page_html)`` if already computed (an environment caches these
            per session); used instead of ``page_html`` when given.
    """

    action: Action
    rationale: str | None = None
    page_html: str | None = None
    url: str = ""
    compressed: CompressedPage | None = None

    def page(self) -> CompressedPage | None:
        """The compressed page, computing it from ``page_html`` if needed."""
        if self.compressed is not None:
            return self.compressed
        return compress_page(self.page_html) if self.page_html else None


@dataclass
class TruncationReport:
    """What the renderer shortened or dropped, and whether the prompt fits.

    Attributes:
        max_tokens: The budget.
        prompt_tokens: Tokens of the final prompt (messages + template margin).
        fits: True when the prompt is within budget *and* every named element of the current page
            is in it.
        within_budget: ``prompt_tokens <= max_tokens``.
        page_detail: Detail level of the current page.
        page_label_chars: ``page_detail.label_chars`` (0 = names only).
        page_elements_total: Named elements of the current page's outline.
        page_elements_dropped: Elements cut from the end of the page (step 5 of the policy).
        history_steps: Past steps (all of them are in the prompt).
        history_pages_available: Past steps that have a page.
        history_pages_kept: Past pages in the prompt.
        history_pages_dropped: Past pages left out for the budget (the oldest ones).
        fixed_tokens: Tokens of everything but pages (system, persona, history lines, url).
        notes: One sentence per decision taken.
    """

    max_tokens: int
    prompt_tokens: int = 0
    fits: bool = True
    within_budget: bool = True
    page_detail: PageDetail = DETAIL_LEVELS[0]
    page_label_chars: int = DETAIL_LEVELS[0].label_chars
    page_elements_total: int = 0
    page_elements_dropped: int = 0
    history_steps: int = 0
    history_pages_available: int = 0
    history_pages_kept: int = 0
    history_pages_dropped: int = 0
    fixed_tokens: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RenderedObservation:
    """The rendered observation of one step.

    Attributes:
        observation: ``persona``, ``page``, ``history``, ``url``, ``actionable_names`` (all str;
            ``actionable_names`` is every name on the current page, one per line).
        report: The :class:`TruncationReport`.
        prompt_tokens: Tokens of the whole prompt (same as ``report.prompt_tokens``).
        names: Every name on the current page (the valid targets), in page order.
        page: The current page as rendered.
        system_prompt: The system prompt the budget was computed with.
    """

    observation: dict[str, str]
    report: TruncationReport
    prompt_tokens: int
    names: tuple[str, ...]
    page: CompressedPage
    system_prompt: str = SYSTEM_PROMPT

    @property
    def messages(self) -> list[dict[str, str]]:
        """``build_messages(observation)`` with the system prompt used for the budget."""
        return build_messages(self.observation, self.system_prompt)


def action_json(action: Action) -> str:
    """The wire JSON of an action as it appears in the history (deterministic)."""
    return json.dumps(action.to_wire(), ensure_ascii=False, separators=(", ", ": "))


def _step_line(index: int, item: HistoryItem) -> str:
    try:  # every step of a session lists all the steps before it: remember the lines written
        return _remembered_step_line(index, item.action, item.rationale)
    except TypeError:  # an action field that cannot be a cache key: write the line every time
        return _write_step_line(index, item.action, item.rationale)


def _write_step_line(index: int, action: Action, rationale: str | None) -> str:
    line = f"Step {index + 1}: {action_json(action)}"
    if rationale and rationale.strip():
        line += " | Rationale: " + " ".join(rationale.split())
    return line


_remembered_step_line = functools.lru_cache(maxsize=8192)(_write_step_line)


def _history_text(lines: list[str], blocks: dict[int, str], dropped: list[int]) -> str:
    parts: list[str] = []
    if dropped:
        span = f"{dropped[0] + 1}" if len(dropped) == 1 else f"{dropped[0] + 1}-{dropped[-1] + 1}"
        parts.append(f"(The pages seen before steps {span} are omitted to fit the context; "
                     "their actions are listed.)")
    for i, line in enumerate(lines):
        if i in blocks:
            parts.append(blocks[i])
        parts.append(line)
    return "\n".join(parts)


def _history_block(index: int, item: HistoryItem, detail: PageDetail, max_chars: int | None) -> str | None:
    page = item.page()
    if page is None or not page.chars_in:
        return None
    rendered = page.at_detail(detail) if page.outline is not None else page
    if max_chars is not None and rendered.chars_out > max_chars and page.outline is not None:
        lo, hi = 0, rendered.element_count
        while lo < hi:  # the most elements whose text stays within max_chars
            mid = (lo + hi + 1) // 2
            if page.at_detail(detail, max_elements=mid).chars_out <= max_chars:
                lo = mid
            else:
                hi = mid - 1
        rendered = page.at_detail(detail, max_elements=lo)
    url = f" (URL: {item.url})" if item.url else ""
    return f"Page before step {index + 1}{url}:\n{rendered.text}"


def render_observation(
    persona_text: str | None,
    history: Sequence[HistoryItem],
    page_html: str | bytes | CompressedPage | None,
    *,
    url: str = "",
    max_tokens: int = 16384,
    counter: TokenCounter | None = None,
    include_history_pages: bool = True,
    history_page_chars: int | None = None,
    history_detail: PageDetail = HISTORY_DETAIL,
    detail_levels: Sequence[PageDetail] = DETAIL_LEVELS,
    template_margin: int = DEFAULT_TEMPLATE_MARGIN,
    system_prompt: str = SYSTEM_PROMPT,
) -> RenderedObservation:
    """Render the observation of one step within ``max_tokens`` (see the module docstring).

    Args:
        persona_text: The persona (``Persona.to_text()``); None or "" for the no-persona ablation.
        history: The past steps, oldest first.
        page_html: The current page: its HTML, or a :class:`CompressedPage` computed earlier.
        url: The current page's URL.
        max_tokens: Budget for the whole prompt, template margin included.
        counter: Token counter (default: the conservative character-ratio estimate).
        include_history_pages: False leaves every past page out (actions are still listed).
        history_page_chars: If set, a past page longer than this many characters keeps only its
            first elements (marked in its text). None keeps past pages whole.
        history_detail: Detail level of past pages.
        detail_levels: The current page's detail levels, richest first; the last is the floor.
        template_margin: Tokens reserved for the chat template.
        system_prompt: The system prompt that :meth:`RenderedObservation.messages` will use.

    Returns:
        A :class:`RenderedObservation`.
    """
    counter = counter or default_counter()
    persona = (persona_text or "").strip()
    current = page_html if isinstance(page_html, CompressedPage) else compress_page(page_html, detail_levels[0])
    lines = [_step_line(i, item) for i, item in enumerate(history)]
    names_text = join_names(current.names)

    def assemble(page_text: str, blocks: dict[int, str], dropped: list[int]) -> dict[str, str]:
        return {"persona": persona, "page": page_text, "history": _history_text(lines, blocks, dropped),
                "url": url, "actionable_names": names_text}

    def total(obs: dict[str, str]) -> int:
        return sum(counter.count(m["content"]) for m in build_messages(obs, system_prompt)) + template_margin

    with_page = [i for i, item in enumerate(history)
                 if (item.compressed.chars_in if item.compressed is not None else item.page_html)]
    report = TruncationReport(max_tokens=max_tokens, history_steps=len(history),
                              history_pages_available=len(with_page),
                              page_elements_total=current.element_count)
    # Fixed part with the "pages omitted" note, the worst case; the note's cost is given back to
    # the past pages when all of them fit (and it is left out of the text).
    fixed = total(assemble("", {}, with_page if include_history_pages else []))
    note_tokens = fixed - total(assemble("", {}, []))
    report.fixed_tokens = fixed
    slack = 0
    for _ in range(_MAX_REFITS):
        available = max_tokens - slack - fixed
        page = _fit_page(current, detail_levels, available, counter)
        blocks: dict[int, str] = {}
        if include_history_pages and page.detail == detail_levels[0] and not page.elements_omitted:
            blocks = _fit_history_pages(history, with_page, available - counter.count(page.text),
                                        note_tokens, counter, history_detail, history_page_chars)
        dropped = [i for i in with_page if i not in blocks] if include_history_pages else []
        observation = assemble(page.text, blocks, dropped)
        tokens = total(observation)
        at_floor = page.detail == detail_levels[-1] and page.elements_omitted == page.element_count
        if tokens <= max_tokens or (at_floor and not blocks):
            break
        slack += tokens - max_tokens  # counts are not exactly additive at joins: tighten and refit

    report.prompt_tokens = tokens
    report.within_budget = tokens <= max_tokens
    report.page_detail = page.detail
    report.page_label_chars = page.detail.label_chars
    report.page_elements_dropped = page.elements_omitted
    report.history_pages_kept = len(blocks)
    report.history_pages_dropped = len(dropped)
    report.fits = report.within_budget and page.elements_omitted == 0
    _explain(report, detail_levels, include_history_pages, dropped)
    return RenderedObservation(observation=observation, report=report, prompt_tokens=tokens,
                               names=current.names, page=page, system_prompt=system_prompt)


def _fit_history_pages(history: Sequence[HistoryItem], with_page: list[int], room: int, note: int,
                       counter: TokenCounter, detail: PageDetail, max_chars: int | None) -> dict[int, str]:
    """The newest past pages that fit (policy 3); the rest are dropped.

    ``room`` is what is left once the "pages omitted" note (``note`` tokens) is paid for. Keeping
    the oldest page means every page is in and the note disappears, so that page may use the
    note's tokens too.
    """
    blocks: dict[int, str] = {}
    for i in reversed(with_page):
        block = _history_block(i, history[i], detail, max_chars)
        if block is None:
            break
        cost = counter.count("\n" + block)
        if cost > room + (note if i == with_page[0] else 0):
            break
        blocks[i] = block
        room -= cost
    return blocks


def _fit_page(current: CompressedPage, levels: Sequence[PageDetail], available: int,
              counter: TokenCounter) -> CompressedPage:
    """The richest rendering of the current page within ``available`` tokens (policy 4 and 5)."""
    if current.outline is None:  # built by hand without its outline: nothing to re-render
        return current
    for detail in levels:
        page = current if current.detail == detail and not current.elements_omitted else current.at_detail(detail)
        if counter.count(page.text) <= available:
            return page
    floor = levels[-1]
    lo, hi = 0, current.element_count
    while lo < hi:  # the most leading elements that fit, marker included
        mid = (lo + hi + 1) // 2
        if counter.count(current.at_detail(floor, max_elements=mid).text) <= available:
            lo = mid
        else:
            hi = mid - 1
    return current.at_detail(floor, max_elements=lo)


def _explain(report: TruncationReport, levels: Sequence[PageDetail], include_pages: bool,
             dropped: list[int]) -> None:
    notes = report.notes
    if report.fixed_tokens > report.max_tokens:
        notes.append(f"system prompt, persona and history actions alone take {report.fixed_tokens} "
                     f"tokens, over the budget of {report.max_tokens}")
    if not include_pages and report.history_pages_available:
        notes.append("past pages were not requested (include_history_pages=False)")
    if dropped:
        notes.append(f"{len(dropped)} past page(s) dropped, oldest first (steps {dropped[0] + 1}-"
                     f"{dropped[-1] + 1}); their actions and rationales are kept")
    if report.page_detail != levels[0]:
        notes.append(f"current page shortened to label_chars={report.page_label_chars}"
                     + (" (names only)" if report.page_label_chars == 0 else ""))
    if report.page_elements_dropped:
        notes.append(f"{report.page_elements_dropped} of {report.page_elements_total} page elements "
                     "omitted from the end even at names only")
    if not report.within_budget:
        notes.append(f"prompt is {report.prompt_tokens} tokens, over the budget of {report.max_tokens}")
