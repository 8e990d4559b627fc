"""The one prompt renderer shared by the environment, the agents and the trainers.

* :func:`compress_page` turns a page's simplified HTML into a compact outline of its named
  elements (:mod:`customer_env.prompt.page`);
* :func:`render_observation` builds a step's observation under a token budget and reports every
  cut (:mod:`customer_env.prompt.render`);
* :func:`build_messages` turns an observation into chat messages with :data:`SYSTEM_PROMPT`
  (:mod:`customer_env.prompt.messages`);
* token counters live in :mod:`customer_env.prompt.tokens`.

Example:
    >>> from customer_env.prompt import render_observation, build_messages
    >>> obs = render_observation("I am thrifty.", [], '<a name="reviews">4.5 stars</a>')
    >>> build_messages(obs.observation)[0]["role"]
    'system'
"""

from __future__ import annotations

from customer_env.prompt.messages import SYSTEM_PROMPT, build_messages, build_user_content
from customer_env.prompt.observation import OBSERVATION_KEYS, actionable_names, join_names
from customer_env.prompt.page import (
    DETAIL_LEVELS,
    NAMES_ONLY,
    CompressedPage,
    PageDetail,
    PageOutline,
    compress_page,
    outline_page,
)
from customer_env.prompt.render import (
    HISTORY_DETAIL,
    HistoryItem,
    RenderedObservation,
    TruncationReport,
    action_json,
    render_observation,
)
from customer_env.prompt.tokens import CharRatioCounter, HFTokenCounter, TokenCounter, default_counter

__all__ = [
    "SYSTEM_PROMPT",
    "build_messages",
    "build_user_content",
    "OBSERVATION_KEYS",
    "actionable_names",
    "join_names",
    "DETAIL_LEVELS",
    "NAMES_ONLY",
    "CompressedPage",
    "PageDetail",
    "PageOutline",
    "compress_page",
    "outline_page",
    "HISTORY_DETAIL",
    "HistoryItem",
    "RenderedObservation",
    "TruncationReport",
    "action_json",
    "render_observation",
    "CharRatioCounter",
    "HFTokenCounter",
    "TokenCounter",
    "default_counter",
]
