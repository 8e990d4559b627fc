"""The embedded synthetic OPeRA store: a simulated Amazon-like shop and persona-driven shoppers,
written in exactly the real dataset's parquet layout and schema.

This is what the project runs on when the real OPeRA is unavailable. Modules, bottom up:
``seeds`` (independent random streams), ``catalogue``, ``personas`` (+ ``persona_text``),
``names`` (semantic ids and their click types), ``views`` (what a page shows), ``behaviour``
(the shopper model; ``shopper`` and ``shopper_flows`` implement it), ``filler`` + ``html_parts``
+ ``pages`` (simplified HTML), ``plan`` (sessions, ids, times, split), ``rows`` + ``writer``
(the parquet encoding), ``generate`` and ``calibration``.

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
    "GenerationSummary",
    "calibration_table",
    "format_calibration_table",
    "generate_store",
]
