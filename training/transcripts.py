"""Session transcripts: every training session as persona + its actions, for a first training stage.

A from-scratch model has to learn two things from the step prompts: how a shopper's actions
follow each other (which this persona does after what), and how to read a page and name an
element on it. The first needs no page at all, yet every step prompt spends ~80% of its tokens on
one. :func:`transcript_dataset` writes each training session once, as the prompt layer renders a
session so far (``customer_env.prompt``: the persona, then ``Step N: {action}`` lines, the
system prompt and chat template around them; the page section empty), with the loss on every
action object (``training.loss_targets``). One sequence of a few hundred tokens then supervises
every transition of the session: a transition costs a fraction of what it costs inside a step
prompt. The pipeline trains on these first, then SFT on the step prompts teaches the page.

It is the training split's recorded actions, nothing else: no evaluated session, and the text
format is the one the step prompts already use for the session so far.

Example:
    >>> rows = transcript_dataset(store, tokenizer, max_tokens=1024)  # doctest: +SKIP
    >>> rows.column_names  # doctest: +SKIP
    ['input_ids', 'labels', 'session_id', 'steps']
"""

from __future__ import annotations

from typing import Any

from customer_env.prompt import build_messages, render_observation
from customer_env.prompt.render import HistoryItem


def transcript_messages(persona_text: str, steps: Any) -> list[dict[str, str]]:
    """The chat messages of one session's transcript: its persona and every step as history."""
    history = [HistoryItem(action=step.action, rationale=step.rationale) for step in steps]
    rendered = render_observation(persona_text, history, None, include_history_pages=False, max_tokens=10**9)
    return build_messages(rendered.observation)


def transcript_dataset(store: Any, tokenizer: Any, *, max_tokens: int, progress: bool = True) -> Any:
    """One pre-tokenized row per session of ``store`` (``input_ids``, ``labels`` on its actions).

    Sessions whose transcript is longer than ``max_tokens`` keep their first steps that fit
    (the dataset's description counts the steps cut).

    Raises:
        ValueError: when not even one step of any session fits ``max_tokens``.

    Args:
        store: The training store (an ``OperaStore``).
        tokenizer: The model's tokenizer (its chat template).
        max_tokens: Longest row, in tokens (the model's context).
        progress: Show a progress bar.
    """
    import datasets
    from tqdm.auto import tqdm

    from customer_env.env_options import is_scored
    from training.loss_targets import tokenize_with_targets

    rows: list[dict[str, Any]] = []
    cut = 0
    for session in tqdm(list(store.iter_sessions()), desc="session transcripts", unit="session", disable=not progress):
        user = store.users.get(session.user_id)
        persona = user.persona.to_text() if user is not None else ""
        steps = [s for s in session.steps if is_scored(s)]
        keep = len(steps)
        while keep > 0:
            encoded = tokenize_with_targets(tokenizer, transcript_messages(persona, steps[:keep]), [])
            if len(encoded["input_ids"]) <= max_tokens:
                break
            keep = max(0, min(keep - 1, int(keep * max_tokens / len(encoded["input_ids"]))))
        if keep == 0:
            cut += len(steps)
            continue
        cut += len(steps) - keep
        rows.append({**encoded, "session_id": session.session_id, "steps": keep})
    if not rows:
        raise ValueError(f"no session transcript fits max_tokens={max_tokens} (the persona and system prompt "
                         "alone are longer); raise the limit")
    dataset = datasets.Dataset.from_list(rows)
    dataset.info.description = f"session transcripts: {len(rows)} sessions, {cut} steps cut to fit {max_tokens} tokens"
    return dataset
