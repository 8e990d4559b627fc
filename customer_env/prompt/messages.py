"""The system prompt and the chat messages built from an observation.

Every consumer (environment, prompting agents, SFT and GRPO trainers) turns an observation into
messages with :func:`build_messages`, so training and evaluation prompts are identical by
construction.

The user message holds, in this order: the persona, the session so far (every past action and
rationale, plus the past pages that fit), the current URL and the current page. The observation's
``actionable_names`` is **not** repeated in the message: every name already appears in the page
outline (unless the budget forced elements out, which the page text itself says), and listing
them twice would double the most expensive part of the prompt. It exists for agents and parsers
(``valid_names``).

Example:
    >>> msgs = build_messages({"persona": "I am frugal.", "history": "", "url": "u",
    ...                        "page": '<a name="x"/>', "actionable_names": "x"})
    >>> [m["role"] for m in msgs]
    ['system', 'user']
    >>> msgs[1]["content"].startswith("## Persona")
    True
"""

from __future__ import annotations

from typing import Mapping

from customer_env.prompt.observation import OBSERVATION_KEYS

#: The task every policy is given, whatever way it answers: the start of every system prompt.
TASK_PROMPT = """\
You simulate one specific online shopper on Amazon. You are given their persona, what they have \
done so far in this shopping session, and the page they are looking at now. Predict the very next \
action this person takes, as they would really take it (not what an ideal shopper would do).

The page is a compressed outline of the HTML. Every element you can act on carries a name="..." \
attribute; text after a tag is that element's visible label. An action targets an element by \
copying its name exactly, character for character."""

#: The instruction given to every policy answering in text: the task and the wire action format.
SYSTEM_PROMPT = TASK_PROMPT + """

Actions:
- click an element: {"type": "click", "name": "<name>"}
- type text into an input field and submit it: {"type": "input", "name": "<name>", "text": "<text>"}
- leave the session without buying anything: {"type": "terminate"}

Answer with a single JSON object and nothing else: first a short rationale in the shopper's own \
voice (first person, one or two sentences), then the action:
{"rationale": "<why I do this>", "action": {"type": "click", "name": "<name>"}}"""

#: Shown when a page or the history is empty, so the model never sees a dangling heading.
NO_PERSONA = "(no persona given)"
NO_HISTORY = "(this is the first action of the session)"
EMPTY_PAGE = "(the page is empty)"
#: The last line of the user message: what the policy is asked (a wire JSON answer by default).
QUESTION = "What does this shopper do next? Answer with the JSON object only."

def build_user_content(observation: Mapping[str, str], *, question: str = QUESTION) -> str:
    """The user message text for an observation (see the module docstring for the order).

    ``question`` replaces the closing question (a policy that acts through tool calls is not
    asked for a JSON object).

    Raises:
        KeyError: naming the missing key when the observation lacks one of persona, history,
            url or page.
    """
    missing = [k for k in ("persona", "history", "url", "page") if k not in observation]
    if missing:
        raise KeyError(f"observation is missing {missing}; expected keys {list(OBSERVATION_KEYS)}")
    persona = observation["persona"].strip() or NO_PERSONA
    history = observation["history"].strip() or NO_HISTORY
    page = observation["page"].strip() or EMPTY_PAGE
    url = observation["url"].strip() or "(unknown)"
    return (
        f"## Persona\n{persona}\n\n"
        f"## Session so far\n{history}\n\n"
        f"## Current page\nURL: {url}\n{page}\n\n"
        f"{question}"
    )


def build_messages(observation: Mapping[str, str], system_prompt: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """Chat messages (system + user) for an observation.

    Args:
        observation: A rendered observation (``RenderedObservation.observation``).
        system_prompt: Override only for experiments; the default is what training uses.

    Returns:
        ``[{"role": "system", "content": ...}, {"role": "user", "content": ...}]``.
    """
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": build_user_content(observation)},
    ]
