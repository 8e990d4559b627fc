"""The embedded synthetic OPeRA store: a simulated Amazon-like shop and persona-driven shoppers,
written in exactly the real dataset's parquet layout and schema.

This is what the project runs on when the real OPeRA is unavailable. Every module, bottom up:

* ``seeds``: independent random streams, one per purpose.
* ``catalogue``: products, brands, prices, options. ``names``: the semantic-id vocabulary, each
  id bound to one click type. ``views``: what each page shows (the shopper reads views).
* ``personas`` (+ ``persona_text``, the survey's words): OPeRA-shaped users and the behaviour
  profile read back from their surveys. ``rationales``: the shoppers' first-person reasons.
* The shopper model, documented in ``behaviour`` (which also runs a session,
  ``simulate_session``): ``choices`` (every random choice of a walk), ``session_records``
  (``SimAction``, ``SimStep``, ``SimSession``), ``shopper`` (one visit's state and acts),
  ``browsing``, ``examining`` and ``buying`` (the walk's flows).
* ``pages/``: simplified HTML of a view (``render``, ``kinds``, ``parts``, ``filler``).
* ``plan`` (sessions, ids, times, split), ``rows`` + ``writer`` (the parquet encoding),
  ``generate`` (:func:`generate_store`), ``calibration`` (generated vs published marginals),
  ``__main__`` (the command line).
* ``enumeration``: every continuation of a walk with its exact probability (choices branched,
  explored depth first). ``fork``: replays a generated session's walk to a step from its manifest
  and gives the law of the next action (:class:`GeneratorFork`; the oracle agents' ceiling). The
  live shop (``customer_env.shop``) runs the same walk on its pages.

Example:
    >>> from customer_env.synthetic import generate_store, calibration_table   # doctest: +SKIP
    >>> summary = generate_store("/tmp/opera-synthetic", page_scale=0.05)      # doctest: +SKIP
    >>> rows = calibration_table("/tmp/opera-synthetic")                       # doctest: +SKIP
"""

from __future__ import annotations

from customer_env.synthetic.calibration import (
    CalibrationRow,
    calibration_table,
    format_calibration_table,
)
from customer_env.synthetic.fork import (
    GenerationInputs,
    GeneratorFork,
    HiddenState,
    NextActionDistribution,
)
from customer_env.synthetic.generate import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    GenerationSummary,
    generate_store,
)

__all__ = [
    "GENERATOR_VERSION",
    "MANIFEST_NAME",
    "CalibrationRow",
    "GenerationInputs",
    "GenerationSummary",
    "GeneratorFork",
    "HiddenState",
    "NextActionDistribution",
    "calibration_table",
    "format_calibration_table",
    "generate_store",
]
