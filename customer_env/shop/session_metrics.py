"""Free-run shopping sessions compared: a simulated customer against reference shoppers.

A session (:class:`SessionSummary`) is what one free-running episode did: its action types,
click types, length, whether it bought, and the three persona effects the store is built on
(``customer_env.synthetic.behaviour``): did it **sort or filter by price** (a price sort or a
price-range filter), **filter by brand**, **read reviews** (a click of click type ``review``).
:func:`compare` sets a run's sessions beside a reference run's (the reference shopper in the
same shop, or the store's recorded sessions) with session-bootstrap intervals, overall and per
persona:

* **Jensen-Shannon divergence** (base 2, :func:`customer_env.metrics.jensen_shannon`) of the
  pooled action-type and click-type distributions; a format failure is an ``invalid`` action
  type (as in OPeRA-v0's behaviour fidelity). Its interval resamples both runs' sessions.
* **session length** and **purchase rate** (a purchase: any click of click type ``purchase``, as
  OPeRA counts purchases), each run's with an interval and the difference (run minus reference).
* **persona effects**: for each effect, the rate among the personas it concerns (price
  consciousness, brand loyalty, review reading at least :data:`TRAIT_HIGH`, i.e. a survey answer
  of 4 or 5 out of 5), among the others, and the effect (concerned minus others); per persona,
  the rate of each behaviour.

Conventions: a ``terminate`` right after a purchase click closes the visit the way the recordings
do (they record none after a purchase), so it is not counted as a step; an action the shop found
invalid (on no page) counts in the distributions (it is what the agent did) but not as a price
sort, brand filter or review. Intervals are percentile intervals of session resamples
(:func:`customer_env.metrics.bootstrap_weights`), the two runs resampled independently.

Example:
    >>> a = SessionSummary("s1", "u1", {"price": 1.0}, (("click", "filter"), ("terminate", None)),
    ...                    purchased=False, price_refined=True, brand_filtered=False, read_reviews=False)
    >>> compare([a, a], [a, a], n_bootstrap=0)["overall"]["action_type_jsd"]["value"]
    0.0
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from customer_env.constants import CLICK_TYPES
from customer_env.metrics import INVALID, ClickTypeLookup, bootstrap_weights, jensen_shannon, percentile_interval
from customer_env.records import Action
from customer_env.synthetic import names

#: A trait at least this high puts a persona in an effect's group (a 4 or 5 on the 1-5 survey scale).
TRAIT_HIGH = 0.75
#: Each effect: (its name, the trait it concerns, the behaviour).
EFFECTS = (
    ("price_conscious_sort_or_filter_by_price", "price", "price_refined"),
    ("brand_loyal_filter_by_brand", "brand_loyal", "brand_filtered"),
    ("review_readers_read_reviews", "reviews", "read_reviews"),
)
ACTION_BINS = ("click", "input", "terminate", INVALID)
PURCHASE = "purchase"
_PRICE_SORTS = frozenset({names.sort_option("price_low_to_high").name, names.sort_option("price_high_to_low").name})
_PRICE_FILTER = "filters.price."
_BRAND_FILTER = "filters.brand."


@dataclass(frozen=True)
class SessionSummary:
    """One free-run session (see the module docstring).

    Attributes:
        session_id: The episode's id.
        persona: The user id (``custom`` for a given persona).
        traits: The persona's behaviour traits (``price``, ``brand_loyal``, ``reviews``, ...).
        actions: ``(action type, click type)`` per counted step (click type None off clicks).
        purchased: Any purchase click.
        price_refined, brand_filtered, read_reviews: The persona effects' behaviours.
    """

    session_id: str
    persona: str
    traits: Mapping[str, float]
    actions: tuple[tuple[str, str | None], ...]
    purchased: bool
    price_refined: bool
    brand_filtered: bool
    read_reviews: bool

    @property
    def length(self) -> int:
        return len(self.actions)


def summarize(session_id: str, persona: str, traits: Mapping[str, float],
              steps: Sequence[tuple[Action | None, bool]], lookup: ClickTypeLookup) -> SessionSummary:
    """A session from its steps: ``(action, valid)`` each, the action None for a format failure and
    ``valid`` False for one the shop found on no page. Click types come from ``lookup`` (the
    action's own click type when it has one)."""
    counted = list(steps)
    if len(counted) >= 2 and counted[-1][0] is not None and counted[-1][0].type == "terminate":
        before = counted[-2][0]
        if before is not None and _click_type(before, lookup) == PURCHASE:
            counted = counted[:-1]  # the recordings' convention: no terminate after a purchase
    actions, price, brand, reviews, purchased = [], False, False, False, False
    for action, valid in counted:
        if action is None:
            actions.append((INVALID, None))
            continue
        click_type = _click_type(action, lookup) if action.type == "click" else None
        actions.append((action.type, click_type))
        if action.type != "click" or not valid:
            continue
        name = (action.name or "").strip()
        price = price or name in _PRICE_SORTS or name.startswith(_PRICE_FILTER)
        brand = brand or name.startswith(_BRAND_FILTER)
        reviews = reviews or click_type == "review"
        purchased = purchased or click_type == PURCHASE
    return SessionSummary(session_id, persona, dict(traits), tuple(actions), purchased, price, brand, reviews)


def _click_type(action: Action, lookup: ClickTypeLookup) -> str | None:
    if action.type != "click":
        return None
    return action.click_type or lookup.predicted_click_type(action)


# ---- the comparison ---------------------------------------------------------------------


def _table(sessions: Sequence[SessionSummary]) -> dict[str, np.ndarray]:
    """Per-session additive statistics (rows: sessions)."""
    return {
        "types": np.array([[Counter(t for t, _ in s.actions)[b] for b in ACTION_BINS] for s in sessions], float)
        .reshape(len(sessions), len(ACTION_BINS)),
        "clicks": np.array([[Counter(c for t, c in s.actions if t == "click")[k] for k in CLICK_TYPES]
                            for s in sessions], float).reshape(len(sessions), len(CLICK_TYPES)),
        "length": np.array([s.length for s in sessions], float),
        "purchased": np.array([s.purchased for s in sessions], float),
        **{behaviour: np.array([getattr(s, behaviour) for s in sessions], float) for _, _, behaviour in EFFECTS},
        **{f"high_{trait}": np.array([s.traits.get(trait, 0.0) >= TRAIT_HIGH for s in sessions], float)
           for _, trait, _ in EFFECTS},
    }


def _weighted(table: dict[str, np.ndarray], w: np.ndarray) -> dict[str, Any]:
    """The statistics of one (re)sample, ``w`` the weight of each session."""
    n = w.sum()
    out: dict[str, Any] = {
        "types": dict(zip(ACTION_BINS, w @ table["types"])),
        "clicks": dict(zip(CLICK_TYPES, w @ table["clicks"])),
        "length": float(w @ table["length"] / n) if n else math.nan,
        "purchase_rate": float(w @ table["purchased"] / n) if n else math.nan,
    }
    for effect, trait, behaviour in EFFECTS:
        high = table[f"high_{trait}"]
        inside, outside = w @ high, w @ (1 - high)
        rate_in = float(w @ (high * table[behaviour]) / inside) if inside else math.nan
        rate_out = float(w @ ((1 - high) * table[behaviour]) / outside) if outside else math.nan
        out[effect] = {"concerned": rate_in, "others": rate_out, "effect": rate_in - rate_out,
                       "rate": float(w @ table[behaviour] / n) if n else math.nan}
    return out


def _entry(point: float, draws: Sequence[float], confidence: float) -> dict[str, float | None]:
    finite = [d for d in draws if not math.isnan(d)]
    if math.isnan(point):
        return {"value": None, "low": None, "high": None}
    if not finite:
        return {"value": point, "low": None, "high": None}
    low, high = percentile_interval(finite, confidence)
    return {"value": point, "low": low, "high": high}


def _stats(run: Sequence[SessionSummary], reference: Sequence[SessionSummary], n_bootstrap: int, seed: int,
           confidence: float) -> dict[str, Any]:
    ta, tr = _table(run), _table(reference)
    pa, pr = _weighted(ta, np.ones(len(run))), _weighted(tr, np.ones(len(reference)))
    resamples: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if n_bootstrap > 0 and len(run) > 1 and len(reference) > 1:
        wa, wr = bootstrap_weights(len(run), n_bootstrap, seed), bootstrap_weights(len(reference), n_bootstrap, seed + 1)
        resamples = [(_weighted(ta, a), _weighted(tr, r)) for a, r in zip(wa, wr)]

    def entry(value: Any, draw: Any) -> dict[str, float | None]:
        return _entry(value, [draw(a, r) for a, r in resamples], confidence)

    out: dict[str, Any] = {
        "sessions": {"run": len(run), "reference": len(reference)},
        "steps": {"run": int(ta["length"].sum()), "reference": int(tr["length"].sum())},
        "action_type_jsd": entry(jensen_shannon(pa["types"], pr["types"]),
                                 lambda a, r: jensen_shannon(a["types"], r["types"])),
        "click_type_jsd": entry(jensen_shannon(pa["clicks"], pr["clicks"]),
                                lambda a, r: jensen_shannon(a["clicks"], r["clicks"])),
        "distributions": {"action_type": {"run": _shares(pa["types"]), "reference": _shares(pr["types"])},
                          "click_type": {"run": _shares(pa["clicks"]), "reference": _shares(pr["clicks"])}},
    }
    for stat in ("length", "purchase_rate"):
        out[stat] = {"run": entry(pa[stat], lambda a, r, s=stat: a[s]),
                     "reference": entry(pr[stat], lambda a, r, s=stat: r[s]),
                     "difference": entry(pa[stat] - pr[stat], lambda a, r, s=stat: a[s] - r[s])}
    effects: dict[str, Any] = {}
    for effect, trait, _ in EFFECTS:
        block: dict[str, Any] = {"trait": trait, "threshold": TRAIT_HIGH}
        for part in ("concerned", "others", "effect", "rate"):
            block[part] = {"run": entry(pa[effect][part], lambda a, r, e=effect, p=part: a[e][p]),
                           "reference": entry(pr[effect][part], lambda a, r, e=effect, p=part: r[e][p]),
                           "difference": entry(pa[effect][part] - pr[effect][part],
                                               lambda a, r, e=effect, p=part: a[e][p] - r[e][p])}
        effects[effect] = block
    out["effects"] = effects
    return out


def _shares(counts: Mapping[str, float]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: (v / total if total else 0.0) for k, v in counts.items()}


def compare(run: Sequence[SessionSummary], reference: Sequence[SessionSummary], *, n_bootstrap: int = 1000,
            seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """``run`` beside ``reference``, overall and per persona (module docstring).

    Returns:
        ``{"overall": stats, "per_persona": {persona: stats}, "bootstrap": {...}}``; every
        statistic ``{"value", "low", "high"}`` (None where undefined: an empty group, one session).

    Raises:
        ValueError: Either side has no session.
    """
    if not run or not reference:
        raise ValueError(f"compare needs sessions on both sides, got {len(run)} and {len(reference)}")
    by_run, by_reference = _by_persona(run), _by_persona(reference)
    per_persona = {}
    for k, persona in enumerate(sorted(set(by_run) & set(by_reference))):
        per_persona[persona] = _stats(by_run[persona], by_reference[persona], n_bootstrap, seed + 2 * (k + 1),
                                      confidence)
    return {"overall": _stats(run, reference, n_bootstrap, seed, confidence), "per_persona": per_persona,
            "bootstrap": {"resamples": n_bootstrap, "seed": seed, "confidence": confidence, "unit": "session",
                          "two_sample": True},
            "personas_only_in_run": sorted(set(by_run) - set(by_reference)),
            "personas_only_in_reference": sorted(set(by_reference) - set(by_run))}


def _by_persona(sessions: Iterable[SessionSummary]) -> dict[str, list[SessionSummary]]:
    groups: dict[str, list[SessionSummary]] = defaultdict(list)
    for s in sessions:
        groups[s.persona].append(s)
    return dict(groups)


def contains_zero(entry: Mapping[str, Any]) -> bool | None:
    """Whether a difference's interval contains 0 (None: no interval)."""
    if entry.get("low") is None or entry.get("high") is None:
        return None
    return entry["low"] <= 0.0 <= entry["high"]


def profile_traits(profile: Any) -> dict[str, float]:
    """A behaviour profile's traits (every float field of it)."""
    return {k: float(v) for k, v in vars(profile).items() if isinstance(v, float)}


def recorded_summaries(world: Any, personas: Iterable[str] | None = None) -> list[SessionSummary]:
    """The store's recorded sessions (of ``personas`` only, if given) as summaries.

    Args:
        world: A :class:`~customer_env.shop.world.ShopWorld`.
        personas: User ids (None: every user).
    """
    wanted = None if personas is None else set(personas)
    lookup = ClickTypeLookup({})
    out = []
    for planned in sorted(world.plan.sessions, key=lambda p: p.session_id):
        user = planned.user
        if wanted is not None and user.user_id not in wanted:
            continue
        steps = [(Action(s.action.type, s.action.name, s.action.text, s.action.click_type), True)
                 for s in planned.sim.steps]
        out.append(summarize(planned.session_id, user.user_id, profile_traits(user.profile), steps, lookup))
    return out
