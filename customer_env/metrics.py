"""Every evaluation metric, as pure functions over step records (one module for all callers).

Rollout, comparison, external scoring and the trainers' evaluation all score with this module,
so a number means the same thing wherever it is printed. The input is a list of
:class:`StepRecord`: the gold action (click type included), the agent's parsed action (None
when its completion is not format-valid: a *format failure*) and whether that action is on the
page (*grounding*, a separate number that changes no other metric).

Definitions (``docs/METRICS.md`` gives each with its source and the pitfalls they avoid):

- **Exact match**: :meth:`Action.matches` (type, and name / name + text, stripped). Format
  failures are wrong.
- **Action-type accuracy**: the predicted type equals the gold type (format failures wrong).
- **Action-type F1** over the three real classes ``click``, ``input``, ``terminate``. A format
  failure is a wrong prediction (it lowers recall of its gold class) but is *not* a class of its
  own. Macro averages classes that occur in gold or prediction; weighted uses gold support.
- **Click-type F1** over the steps whose gold action is a click. The predicted click type is
  the gold-standard click type of the element the agent chose (:class:`ClickTypeLookup`); a
  non-click prediction on a gold click is wrong and is no class. Agents never emit click types.
- **Fine-grained type accuracy**: the action type matches and, for a gold click, the predicted
  element's click type matches too.
- **Session outcome** (headline ``session_outcome_weighted_f1``): per session, gold is
  ``purchase`` when its last action is a click of click type purchase, else ``terminate``
  (:func:`customer_env.records.session_outcome`); the prediction is read from the agent's answer
  at the session's **last** step only: a click on an element whose looked-up click type is
  purchase, a terminate, or neither (wrong for both classes, no class). Weighted F1 over the two
  gold classes. The older any-step reading (a purchase click at any step) is kept, never as a
  headline, as ``session_outcome["any_step_purchase"]``.
- **Format validity**: share of steps whose completion parsed into an action (known type and
  required fields). **Grounding rate**: share of steps whose prediction is format-valid and on
  the page (a terminate names no element and counts as grounded), over the steps whose page
  names were checked.
- **Rationale similarity**: ROUGE-L F1 (``customer_env.rewards.rouge_l_f1``) against
  *human-written* rationales only.
- **Behaviour fidelity**: per user, the Jensen-Shannon divergence (base 2, in [0, 1]) between the
  agent's and the human's action-type and click-type distributions, averaged over users. Here a
  format failure is an ``invalid`` bin of the agent's distribution (humans have none), so an
  agent that rarely produces a valid action cannot look faithful. Session statistics: the
  agent's session ends at its first predicted terminate or purchase click (else at the last
  recorded step); purchase rates are the session outcome's (gold and last-step prediction).
- **Bootstrap** confidence intervals resample whole sessions (seeded) and recompute every
  headline number from summed per-session counts; :func:`paired_difference` resamples the
  sessions once for two runs and takes quantiles of the differences. Fewer than 20 sessions
  get :func:`small_sample_warning`; one session has no interval (None).

Example:
    >>> gold = Action("click", "nav_bar.cart_button", click_type="nav_bar")
    >>> rec = StepRecord("s1", 0, "u1", gold, Action("click", "nav_bar.cart_button"))
    >>> exact_match([rec])
    1.0
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from customer_env.constants import ACTION_TYPES, CLICK_TYPES
from customer_env.records import Action, Session, session_outcome
from customer_env.rewards import rouge_l_f1

logger = logging.getLogger(__name__)

PURCHASE = "purchase"
#: The two session outcomes (gold classes of the session-outcome F1).
OUTCOMES = ("purchase", "terminate")
#: Click type given to an element that no data labels and no name pattern explains.
UNKNOWN_CLICK_TYPE = "other"
#: The agent-side bin of format failures in behaviour distributions (never an F1 class).
INVALID = "invalid"

HEADLINE = ("exact_match", "action_type_accuracy", "action_type_macro_f1", "action_type_weighted_f1",
            "click_type_macro_f1", "click_type_weighted_f1", "fine_grained_accuracy",
            "session_outcome_weighted_f1", "session_outcome_accuracy", "format_validity", "grounding_rate")
#: Fewer evaluated sessions than this get a warning beside every interval (ours; docs/METRICS.md).
MIN_SESSIONS_FOR_INTERVALS = 20


@dataclass(frozen=True)
class StepRecord:
    """One scored step: what the human did and what the agent predicted.

    Attributes:
        session_id: The session.
        step_index: Position of the step in the session.
        user_id: The shopper whose step it is.
        gold: The recorded action, click type included.
        predicted: The agent's parsed action (on the page or not), or None for a format failure.
        predicted_rationale: The agent's rationale, if any.
        human_rationale: The shopper's own rationale, or None (model-written ones never go here).
        session_length: Number of steps of the whole human session (None: count the records).
        session_purchased: Whether the human session has a purchase click at any step (None:
            infer from records); only the any-step reading uses it.
        grounded: Whether the prediction is on the page (False for a format failure); None when
            the page's names were not checked.
        session_outcome: The human session's outcome, ``purchase`` or ``terminate`` (None: from
            the last record's gold action).
    """

    session_id: str
    step_index: int
    user_id: str
    gold: Action
    predicted: Action | None
    predicted_rationale: str | None = None
    human_rationale: str | None = None
    session_length: int | None = None
    session_purchased: bool | None = None
    grounded: bool | None = None
    session_outcome: str | None = None

    @classmethod
    def from_sample(cls, sample: Mapping[str, Any]) -> "StepRecord":
        """Rebuild a record from a rollout sample dict (the JSONL written by ``agents.rollout``)."""
        gold = dict(sample["gold"])
        predicted = sample.get("predicted")
        return cls(
            session_id=str(sample["session_id"]),
            step_index=int(sample["step_index"]),
            user_id=str(sample.get("user_id", "")),
            gold=Action(gold["type"], gold.get("name"), gold.get("text"), gold.get("click_type")),
            predicted=Action.from_wire(predicted) if predicted else None,
            predicted_rationale=sample.get("predicted_rationale"),
            human_rationale=sample.get("human_rationale"),
            session_length=sample.get("session_length"),
            session_purchased=sample.get("session_purchased"),
            grounded=sample.get("grounded"),
            session_outcome=sample.get("session_outcome"),
        )


class ClickTypeLookup:
    """Gold-standard click type of an element name, built from recorded clicks.

    A name seen in the data gets its recorded click type (the majority one if the data disagree;
    :attr:`collisions` counts such names). An unseen name is labelled by its *pattern*: the
    click type most often recorded for names with the same last dotted segment (e.g.
    ``*.product_title`` -> product_link), else the same first segment (``product_options.*``),
    else :data:`UNKNOWN_CLICK_TYPE`. A segment counts as a pattern only when at least
    ``min_pattern_names`` distinct recorded names share it: one name ending in ``.next`` says
    nothing about every other ``*.next``. ``infer_patterns=False`` labels every unseen name "other".

    Example:
        >>> clicks = [Action("click", f"{p}.add_to_cart", click_type="purchase") for p in "ab"]
        >>> lookup = ClickTypeLookup.from_actions(clicks)
        >>> lookup.click_type("c.add_to_cart"), lookup.click_type("zzz")
        ('purchase', 'other')
    """

    def __init__(self, votes: Mapping[str, Counter], *, infer_patterns: bool = True,
                 min_pattern_names: int = 2) -> None:
        self.infer_patterns = infer_patterns
        self.min_pattern_names = min_pattern_names
        self.known = {name: _majority(counts) for name, counts in votes.items()}
        self.collisions = sum(1 for counts in votes.values() if len(counts) > 1)
        suffix: dict[str, Counter] = defaultdict(Counter)
        prefix: dict[str, Counter] = defaultdict(Counter)
        names_per: Counter = Counter()
        for name, counts in votes.items():
            parts = name.split(".")
            suffix[parts[-1]].update(counts)
            prefix[parts[0]].update(counts)
            names_per["s:" + parts[-1]] += 1
            names_per["p:" + parts[0]] += 1
        self._suffix = {k: _majority(v) for k, v in suffix.items() if names_per["s:" + k] >= min_pattern_names}
        self._prefix = {k: _majority(v) for k, v in prefix.items() if names_per["p:" + k] >= min_pattern_names}

    @classmethod
    def from_actions(cls, actions: Iterable[Action], *, infer_patterns: bool = True) -> "ClickTypeLookup":
        """Build from recorded actions; only clicks with a name and a click type count."""
        votes: dict[str, Counter] = defaultdict(Counter)
        for action in actions:
            if action.type == "click" and action.name and action.click_type:
                votes[action.name][action.click_type] += 1
        return cls(votes, infer_patterns=infer_patterns)

    @classmethod
    def from_sessions(cls, sessions: Iterable[Session], *, infer_patterns: bool = True) -> "ClickTypeLookup":
        """Build from every click of the given sessions (e.g. a store's train and test splits)."""
        return cls.from_actions((s.action for sess in sessions for s in sess.steps),
                                infer_patterns=infer_patterns)

    def click_type(self, name: str | None) -> str:
        """The click type of an element name (see the class docstring for unseen names)."""
        if not name:
            return UNKNOWN_CLICK_TYPE
        if name in self.known:
            return self.known[name]
        if self.infer_patterns:
            parts = name.split(".")
            for table, key in ((self._suffix, parts[-1]), (self._prefix, parts[0])):
                if key in table:
                    return table[key]
        return UNKNOWN_CLICK_TYPE

    def predicted_click_type(self, action: Action | None) -> str | None:
        """The click type of a predicted click's element, or None when it is not a click."""
        return self.click_type(action.name) if action is not None and action.type == "click" else None


def _majority(counts: Counter) -> str:
    # Ties break by name so that the lookup does not depend on insertion order.
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


# --------------------------------------------------------------------------- per-step metrics
def exact_match(records: Sequence[StepRecord]) -> float:
    """Share of steps whose prediction matches the gold action exactly (format failures wrong)."""
    return _mean([r.predicted is not None and r.gold.matches(r.predicted) for r in records])


def exact_match_by(records: Sequence[StepRecord], key: str = "action_type") -> dict[str, float]:
    """Exact match per gold ``action_type``, or per gold ``click_type`` (gold clicks only)."""
    if key not in ("action_type", "click_type"):
        raise ValueError(f"key must be 'action_type' or 'click_type', got {key!r}")
    groups: dict[str, list[StepRecord]] = defaultdict(list)
    for r in records:
        label = r.gold.type if key == "action_type" else r.gold.click_type
        if key == "action_type" or r.gold.type == "click":
            groups[label or UNKNOWN_CLICK_TYPE].append(r)
    return {label: exact_match(group) for label, group in sorted(groups.items())}


def action_type_accuracy(records: Sequence[StepRecord]) -> float:
    """Share of steps whose predicted action type equals the gold one (format failures wrong)."""
    return _mean([r.predicted is not None and r.predicted.type == r.gold.type for r in records])


def format_validity(records: Sequence[StepRecord]) -> float:
    """Share of steps whose completion parsed into an action (known type, required fields)."""
    return _mean([r.predicted is not None for r in records])


def grounding(records: Sequence[StepRecord]) -> dict[str, float]:
    """Grounded predictions over the steps whose page names were checked.

    Returns ``{"rate", "grounded", "checked"}``; ``rate`` is 0.0 when nothing was checked.

    Example:
        >>> g = Action("click", "a", click_type="other")
        >>> grounding([StepRecord("s", 0, "u", g, Action("click", "b"), grounded=False),
        ...            StepRecord("s", 1, "u", g, Action("terminate"), grounded=True)])
        {'rate': 0.5, 'grounded': 1, 'checked': 2}
    """
    checked = [r for r in records if r.grounded is not None]
    hits = sum(1 for r in checked if r.grounded and r.predicted is not None)
    return {"rate": hits / len(checked) if checked else 0.0, "grounded": hits, "checked": len(checked)}


@dataclass(frozen=True)
class F1Report:
    """Per-class F1 with its macro and support-weighted averages."""

    per_class: dict[str, float]
    support: dict[str, int]
    macro: float
    weighted: float

    def as_dict(self) -> dict[str, Any]:
        return {"macro": self.macro, "weighted": self.weighted, "per_class": self.per_class,
                "support": self.support}


def f1_report(gold: Sequence[str], predicted: Sequence[str | None], classes: Sequence[str]) -> F1Report:
    """F1 over ``classes``; a prediction outside them (None, ``invalid``) is wrong but no class.

    Example:
        >>> f1_report(["click", "input"], ["click", None], ACTION_TYPES).macro  # input: F1 0
        0.5
    """
    counts = _class_counts(gold, predicted, classes)
    return _f1_from_counts(counts, classes)


def _class_counts(gold: Sequence[str], predicted: Sequence[str | None], classes: Sequence[str]) -> np.ndarray:
    """Per class: [true positives, gold support, predicted count]."""
    index = {c: i for i, c in enumerate(classes)}
    counts = np.zeros((len(classes), 3))
    for g, p in zip(gold, predicted, strict=True):
        if g in index:
            counts[index[g], 1] += 1
        if p in index:
            counts[index[p], 2] += 1
            if p == g:
                counts[index[p], 0] += 1
    return counts


def _f1_from_counts(counts: np.ndarray, classes: Sequence[str]) -> F1Report:
    tp, support, npred = counts[:, 0], counts[:, 1], counts[:, 2]
    denom = support + npred
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = denom > 0  # classes seen in gold or prediction; absent ones would only add zeros
    macro = float(f1[present].mean()) if present.any() else 0.0
    weighted = float((f1 * support).sum() / support.sum()) if support.sum() else 0.0
    return F1Report({c: float(f1[i]) for i, c in enumerate(classes) if present[i]},
                    {c: int(support[i]) for i, c in enumerate(classes)}, macro, weighted)


def action_type_f1(records: Sequence[StepRecord]) -> F1Report:
    """Action-type F1 over click / input / terminate (format failures: wrong, no class)."""
    return f1_report([r.gold.type for r in records],
                     [r.predicted.type if r.predicted else None for r in records], ACTION_TYPES)


def click_type_f1(records: Sequence[StepRecord], lookup: ClickTypeLookup) -> F1Report:
    """Click-type F1 over gold clicks, the predicted type looked up from the chosen element."""
    clicks = [r for r in records if r.gold.type == "click"]
    return f1_report([r.gold.click_type or UNKNOWN_CLICK_TYPE for r in clicks],
                     [lookup.predicted_click_type(r.predicted) for r in clicks], CLICK_TYPES)


def fine_grained_accuracy(records: Sequence[StepRecord], lookup: ClickTypeLookup) -> float:
    """Action type right and, for a gold click, the chosen element's click type right too."""
    return _mean([_fine_grained_hit(r, lookup) for r in records])


def _fine_grained_hit(r: StepRecord, lookup: ClickTypeLookup) -> bool:
    if r.predicted is None or r.predicted.type != r.gold.type:
        return False
    return r.gold.type != "click" or lookup.click_type(r.predicted.name) == r.gold.click_type


# ------------------------------------------------------------------------- session outcome
def _last_step_record(group: Sequence[StepRecord]) -> StepRecord | None:
    """The record of the session's last step, or None when the records stop before it."""
    last = group[-1]
    length = last.session_length
    return last if length is None or last.step_index == length - 1 else None


def predicted_outcome(record: StepRecord | None, lookup: ClickTypeLookup) -> str | None:
    """``purchase`` (a click on a purchase-type element), ``terminate``, or None (neither)."""
    if record is None or record.predicted is None:
        return None
    if record.predicted.type == "terminate":
        return "terminate"
    return PURCHASE if lookup.predicted_click_type(record.predicted) == PURCHASE else None


def session_outcomes(records: Sequence[StepRecord], lookup: ClickTypeLookup) -> dict[str, tuple[str, str | None]]:
    """Per session: (gold outcome, outcome predicted at the session's last step or None)."""
    out: dict[str, tuple[str, str | None]] = {}
    for sid, group in _by_session(records).items():
        gold = group[-1].session_outcome or session_outcome(group[-1].gold)
        out[sid] = (gold, predicted_outcome(_last_step_record(group), lookup))
    return out


def outcome_report(records: Sequence[StepRecord], lookup: ClickTypeLookup) -> dict[str, Any]:
    """Session outcome read at the last step: accuracy, weighted and macro F1 over the two gold
    classes, per-class F1 and support; and the any-step purchase reading under its own key."""
    pairs = list(session_outcomes(records, lookup).values())
    report = _outcome_from_counts(_outcome_counts(pairs))
    report["per_class"] = f1_report([g for g, _ in pairs], [p for _, p in pairs], OUTCOMES).per_class
    report["no_outcome_predicted"] = sum(1 for _, p in pairs if p is None)
    report["any_step_purchase"] = any_step_purchase(records, lookup)
    return report


def any_step_purchase(records: Sequence[StepRecord], lookup: ClickTypeLookup) -> dict[str, float]:
    """The older, non-paper reading: did the human purchase at any step, and did the agent predict
    a purchase click at any step? Accuracy and F1 of the purchase class. Never a headline."""
    tp = fp = fn = tn = 0
    for group in _by_session(records).values():
        gold = group[0].session_purchased
        if gold is None:
            gold = any(r.gold.click_type == PURCHASE for r in group)
        pred = any(lookup.predicted_click_type(r.predicted) == PURCHASE for r in group)
        tp, fp, fn, tn = tp + (gold and pred), fp + (pred and not gold), fn + (gold and not pred), \
            tn + (not gold and not pred)
    n = tp + fp + fn + tn
    return {"accuracy": (tp + tn) / n if n else 0.0,
            "purchase_f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0, "n_sessions": n}


def _outcome_counts(pairs: Iterable[tuple[str, str | None]]) -> np.ndarray:
    """Per outcome class: [true positives, gold support, predicted count], then [correct, sessions]."""
    pairs = list(pairs)
    counts = _class_counts([g for g, _ in pairs], [p for _, p in pairs], OUTCOMES).ravel()
    return np.concatenate([counts, [sum(1 for g, p in pairs if g == p), len(pairs)]])


def _outcome_from_counts(c: np.ndarray) -> dict[str, Any]:
    k = 3 * len(OUTCOMES)
    f1 = _f1_from_counts(c[:k].reshape(-1, 3), OUTCOMES)
    correct, n = c[k], c[k + 1]
    support = c[:k].reshape(-1, 3)[:, 1]
    predicted = c[:k].reshape(-1, 3)[:, 2]
    return {"accuracy": float(correct / n) if n else 0.0, "weighted_f1": f1.weighted,
            "macro_f1": f1.macro, "support": f1.support, "n_sessions": int(n),
            "human_purchase_rate": float(support[0] / n) if n else 0.0,
            "agent_purchase_rate": float(predicted[0] / n) if n else 0.0}


# ---------------------------------------------------------------------- rationale similarity
def rationale_similarity(records: Sequence[StepRecord]) -> dict[str, float]:
    """Mean ROUGE-L F1 of the agent's rationale against the human's, on human-rationale steps only.

    A missing agent rationale (or a format failure) scores 0 on such a step.
    """
    scored = [rouge_l_f1(r.predicted_rationale or "", r.human_rationale)
              for r in records if r.human_rationale and r.human_rationale.strip()]
    return {"rouge_l": _mean(scored), "n": len(scored)}


# ------------------------------------------------------------------------ behaviour fidelity
def jensen_shannon(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon divergence (base 2) of two count or probability maps; 1.0 if one is empty.

    Example:
        >>> jensen_shannon({"click": 1}, {"input": 1})
        1.0
    """
    keys = sorted(set(p) | set(q))
    pv, qv = np.array([p.get(k, 0) for k in keys], float), np.array([q.get(k, 0) for k in keys], float)
    if pv.sum() == 0 or qv.sum() == 0:
        return 0.0 if pv.sum() == qv.sum() else 1.0
    pv, qv = pv / pv.sum(), qv / qv.sum()
    m = (pv + qv) / 2

    def kl(x: np.ndarray) -> float:
        nz = x > 0
        return float((x[nz] * np.log2(x[nz] / m[nz])).sum())

    return max(0.0, min(1.0, (kl(pv) + kl(qv)) / 2))


def behaviour_fidelity(records: Sequence[StepRecord], lookup: ClickTypeLookup) -> dict[str, float]:
    """Per-user JSD of action-type and click-type distributions, and session statistics."""
    type_jsd, click_jsd = [], []
    for group in _group(records, lambda r: r.user_id).values():
        human_types = Counter(r.gold.type for r in group)
        agent_types = Counter(r.predicted.type if r.predicted else INVALID for r in group)
        type_jsd.append(jensen_shannon(human_types, agent_types))
        human_clicks = Counter(r.gold.click_type for r in group if r.gold.type == "click")
        agent_clicks = Counter(lookup.predicted_click_type(r.predicted) for r in group
                               if r.predicted is not None and r.predicted.type == "click")
        if human_clicks or agent_clicks:
            click_jsd.append(jensen_shannon(human_clicks, agent_clicks))
    human_len, agent_len = [], []
    for group in _by_session(records).values():
        human_len.append(group[0].session_length or len(group))
        ends = [i for i, r in enumerate(group) if r.predicted is not None and (
            r.predicted.type == "terminate" or lookup.predicted_click_type(r.predicted) == PURCHASE)]
        agent_len.append(ends[0] + 1 if ends else len(group))
    outcome = list(session_outcomes(records, lookup).values())
    return {"action_type_jsd": _mean(type_jsd), "click_type_jsd": _mean(click_jsd),
            "n_users": len(type_jsd), "human_mean_session_length": _mean(human_len),
            "agent_mean_session_length": _mean(agent_len),
            "human_purchase_rate": _mean([g == PURCHASE for g, _ in outcome]),
            "agent_purchase_rate": _mean([p == PURCHASE for _, p in outcome])}


def distributions(records: Sequence[StepRecord], lookup: ClickTypeLookup) -> dict[str, dict[str, Counter]]:
    """Pooled action-type and click-type counts, human and agent (for plots)."""
    return {
        "action_type": {"human": Counter(r.gold.type for r in records),
                        "agent": Counter(r.predicted.type if r.predicted else INVALID for r in records)},
        "click_type": {"human": Counter(r.gold.click_type for r in records if r.gold.type == "click"),
                       "agent": Counter(lookup.predicted_click_type(r.predicted) for r in records
                                        if r.predicted is not None and r.predicted.type == "click")},
    }


# ------------------------------------------------------------------- headline and bootstrap
#: Per-session additive counts, in this order, then the class-count blocks of _session_stats.
_SCALARS = ("exact", "steps", "valid", "fine_grained", "type_correct", "grounded", "grounding_checked")
_TYPE_BLOCK = 3 * len(ACTION_TYPES)
_CLICK_BLOCK = 3 * len(CLICK_TYPES)
_OUTCOME_BLOCK = 3 * len(OUTCOMES) + 2


def _session_stats(group: Sequence[StepRecord], lookup: ClickTypeLookup, outcome: tuple[str, str | None]) -> np.ndarray:
    """Additive sufficient statistics of one session for every headline number."""
    clicks = [r for r in group if r.gold.type == "click"]
    checked = [r for r in group if r.grounded is not None]
    return np.concatenate([
        [sum(r.predicted is not None and r.gold.matches(r.predicted) for r in group), len(group),
         sum(r.predicted is not None for r in group), sum(_fine_grained_hit(r, lookup) for r in group),
         sum(r.predicted is not None and r.predicted.type == r.gold.type for r in group),
         sum(1 for r in checked if r.grounded and r.predicted is not None), len(checked)],
        _class_counts([r.gold.type for r in group], [r.predicted.type if r.predicted else None for r in group],
                      ACTION_TYPES).ravel(),
        _class_counts([r.gold.click_type or UNKNOWN_CLICK_TYPE for r in clicks],
                      [lookup.predicted_click_type(r.predicted) for r in clicks], CLICK_TYPES).ravel(),
        _outcome_counts([outcome]),
    ])


def _headline_from_stats(s: np.ndarray) -> dict[str, float]:
    v = dict(zip(_SCALARS, s[:len(_SCALARS)]))
    n = v["steps"]
    k = len(_SCALARS)
    types = _f1_from_counts(s[k:k + _TYPE_BLOCK].reshape(-1, 3), ACTION_TYPES)
    k += _TYPE_BLOCK
    clicks = _f1_from_counts(s[k:k + _CLICK_BLOCK].reshape(-1, 3), CLICK_TYPES)
    k += _CLICK_BLOCK
    outcome = _outcome_from_counts(s[k:k + _OUTCOME_BLOCK])

    def rate(hits: float, total: float) -> float:
        return float(hits / total) if total else 0.0

    return {"exact_match": rate(v["exact"], n), "action_type_accuracy": rate(v["type_correct"], n),
            "action_type_macro_f1": types.macro, "action_type_weighted_f1": types.weighted,
            "click_type_macro_f1": clicks.macro, "click_type_weighted_f1": clicks.weighted,
            "fine_grained_accuracy": rate(v["fine_grained"], n),
            "session_outcome_weighted_f1": outcome["weighted_f1"], "session_outcome_accuracy": outcome["accuracy"],
            "format_validity": rate(v["valid"], n), "grounding_rate": rate(v["grounded"], v["grounding_checked"])}


def _session_table(records: Sequence[StepRecord], lookup: ClickTypeLookup) -> tuple[list[str], np.ndarray]:
    """Session ids (sorted) and one row of additive statistics per session (:func:`_session_stats`)."""
    outcomes = session_outcomes(records, lookup)
    sessions = _by_session(records)
    width = len(_SCALARS) + _TYPE_BLOCK + _CLICK_BLOCK + _OUTCOME_BLOCK
    stats = np.stack([_session_stats(g, lookup, outcomes[sid]) for sid, g in sessions.items()]) \
        if sessions else np.zeros((0, width))
    return list(sessions), stats


def bootstrap_weights(n_sessions: int, n_bootstrap: int, seed: int) -> np.ndarray:
    """How often each session is drawn in each resample: ``(n_bootstrap, n_sessions)`` counts.

    One seeded draw for a given (sessions, resamples, seed): :func:`headline` and
    :func:`paired_difference` use the same resamples, so a paired difference rests on the very
    resamples behind each run's own interval. Other session-level statistics (the live shop's
    comparison, ``customer_env.shop.session_metrics``) resample with it too.

    Example:
        >>> bootstrap_weights(3, 2, seed=0).sum(axis=1).tolist()
        [3, 3]
    """
    if n_sessions < 1:
        raise ValueError(f"bootstrap needs at least one session, got {n_sessions}")
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_sessions, np.full(n_sessions, 1 / n_sessions), size=n_bootstrap)


def percentile_interval(draws: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """The ``confidence`` percentile interval of bootstrap ``draws`` (the one every interval here uses).

    Example:
        >>> percentile_interval([0.0, 1.0, 2.0, 3.0, 4.0], 0.5)
        (1.0, 3.0)
    """
    alpha = (1 - confidence) / 2
    low, high = np.quantile(np.asarray(draws, dtype=float), [alpha, 1 - alpha])
    return float(low), float(high)


def _quantiles(draws: Sequence[Mapping[str, float]], names: Sequence[str],
               confidence: float) -> dict[str, tuple[float, float]]:
    return {name: percentile_interval([d[name] for d in draws], confidence) for name in names}


def small_sample_warning(n_sessions: int) -> str | None:
    """Why session-bootstrap intervals over ``n_sessions`` sessions cannot be trusted, or None.

    Fewer than :data:`MIN_SESSIONS_FOR_INTERVALS` sessions give few distinct resamples
    (``C(2n - 1, n)``: 3 for two sessions), and a percentile interval over them is too narrow;
    one session has no interval at all (docs/METRICS.md, "Confidence intervals").

    Example:
        >>> small_sample_warning(2)
        'only 2 sessions evaluated (fewer than 20): the 95% session-bootstrap intervals rest on 3 distinct resamples and are too narrow to trust'
        >>> small_sample_warning(20) is None
        True
    """
    if n_sessions >= MIN_SESSIONS_FOR_INTERVALS:
        return None
    if n_sessions == 0:
        return "no sessions evaluated: every number is empty"
    if n_sessions == 1:
        return "only 1 session evaluated: a session-bootstrap interval is undefined (one session resamples to itself)"
    return (f"only {n_sessions} sessions evaluated (fewer than {MIN_SESSIONS_FOR_INTERVALS}): the 95% "
            f"session-bootstrap intervals rest on {math.comb(2 * n_sessions - 1, n_sessions):,} distinct "
            "resamples and are too narrow to trust")


def headline(records: Sequence[StepRecord], lookup: ClickTypeLookup, *, n_bootstrap: int = 1000,
             seed: int = 0, confidence: float = 0.95) -> dict[str, dict[str, float | None]]:
    """The headline numbers with bootstrap intervals over resampled sessions.

    Returns ``{metric: {"value", "low", "high"}}``. With ``n_bootstrap=0`` low/high equal value
    (no interval asked for); with fewer than two sessions they are None (undefined).

    Example:
        >>> g = Action("terminate")
        >>> headline([StepRecord("s", 0, "u", g, g)], ClickTypeLookup({}))["exact_match"]
        {'value': 1.0, 'low': None, 'high': None}
    """
    _, stats = _session_table(records, lookup)
    point = _headline_from_stats(stats.sum(axis=0))
    result: dict[str, dict[str, float | None]] = {
        name: {"value": float(point[name]), "low": float(point[name]), "high": float(point[name])} for name in HEADLINE}
    if n_bootstrap > 0 and len(stats) < 2:
        for entry in result.values():
            entry["low"] = entry["high"] = None
    elif n_bootstrap > 0:
        draws = [_headline_from_stats(row) for row in bootstrap_weights(len(stats), n_bootstrap, seed) @ stats]
        for name, (low, high) in _quantiles(draws, HEADLINE, confidence).items():
            result[name]["low"], result[name]["high"] = low, high
    return result


def paired_difference(a: Sequence[StepRecord], b: Sequence[StepRecord], lookup: ClickTypeLookup, *,
                      n_bootstrap: int = 1000, seed: int = 0, confidence: float = 0.95,
                      metrics: Sequence[str] = HEADLINE) -> dict[str, dict[str, float | None]]:
    """Headline differences ``a - b`` with a *paired* session-bootstrap interval.

    Both runs must have scored the same sessions (e.g. two agents on one test split). Every
    resample draws sessions once and recomputes both runs' numbers from the same drawn sessions,
    so what the sessions share (easy or hard ones) cancels out; the interval is the quantiles of
    the differences. The resamples are :func:`headline`'s for the same ``seed``.

    Args:
        a, b: The two runs' step records.
        lookup: Click types of predicted elements (the one both runs were scored with).
        n_bootstrap: Resamples (0: low/high equal the difference).
        seed: Seed of the resamples.
        confidence: Interval coverage.
        metrics: Which :data:`HEADLINE` numbers.

    Returns:
        ``{metric: {"value", "low", "high"}}`` as fractions (low/high None with one session).

    Raises:
        ValueError: when the runs did not score the same sessions, or a metric is not a headline one.

    Example:
        >>> g = Action("terminate")
        >>> a = [StepRecord(s, 0, "u", g, g) for s in "xy"]
        >>> b = [StepRecord("x", 0, "u", g, g), StepRecord("y", 0, "u", g, None)]
        >>> paired_difference(a, b, ClickTypeLookup({}), n_bootstrap=0)["exact_match"]
        {'value': 0.5, 'low': 0.5, 'high': 0.5}
    """
    unknown = [name for name in metrics if name not in HEADLINE]
    if unknown:
        raise ValueError(f"not headline metrics: {', '.join(unknown)}; expected some of {', '.join(HEADLINE)}")
    ids_a, stats_a = _session_table(a, lookup)
    ids_b, stats_b = _session_table(b, lookup)
    if ids_a != ids_b:
        only_a, only_b = sorted(set(ids_a) - set(ids_b)), sorted(set(ids_b) - set(ids_a))
        raise ValueError(f"paired_difference needs both runs on the same sessions: {len(only_a)} only in the "
                         f"first (e.g. {only_a[:1]}), {len(only_b)} only in the second (e.g. {only_b[:1]})")

    def diff(row_a: np.ndarray, row_b: np.ndarray) -> dict[str, float]:
        ha, hb = _headline_from_stats(row_a), _headline_from_stats(row_b)
        return {name: ha[name] - hb[name] for name in metrics}

    point = diff(stats_a.sum(axis=0), stats_b.sum(axis=0))
    result: dict[str, dict[str, float | None]] = {
        name: {"value": float(v), "low": float(v), "high": float(v)} for name, v in point.items()}
    if n_bootstrap > 0 and len(ids_a) < 2:
        for entry in result.values():
            entry["low"] = entry["high"] = None
    elif n_bootstrap > 0:
        weights = bootstrap_weights(len(ids_a), n_bootstrap, seed)
        draws = [diff(ra, rb) for ra, rb in zip(weights @ stats_a, weights @ stats_b)]
        for name, (low, high) in _quantiles(draws, metrics, confidence).items():
            result[name]["low"], result[name]["high"] = low, high
    return result


def evaluate(records: Sequence[StepRecord], lookup: ClickTypeLookup, *, n_bootstrap: int = 1000,
             seed: int = 0) -> dict[str, Any]:
    """Every metric of this module in one JSON-ready dict (what rollout and comparison report).

    ``bootstrap`` says how the headline intervals were drawn and carries
    :func:`small_sample_warning` (also logged) when there are too few sessions to trust them.
    """
    n_sessions = len(_by_session(records))
    warning = small_sample_warning(n_sessions)
    if warning is not None:
        logger.warning(warning)
    return {
        "n_steps": len(records), "n_sessions": n_sessions,
        "headline": headline(records, lookup, n_bootstrap=n_bootstrap, seed=seed),
        "bootstrap": {"resamples": n_bootstrap, "seed": seed, "confidence": 0.95, "unit": "session",
                      "warning": warning},
        "exact_match_by_action_type": exact_match_by(records, "action_type"),
        "exact_match_by_click_type": exact_match_by(records, "click_type"),
        "action_type_f1": action_type_f1(records).as_dict(),
        "click_type_f1": click_type_f1(records, lookup).as_dict(),
        "session_outcome": outcome_report(records, lookup),
        "grounding": grounding(records),
        "rationale_similarity": rationale_similarity(records),
        "fidelity": behaviour_fidelity(records, lookup),
        "click_type_lookup": {"known_names": len(lookup.known), "collisions": lookup.collisions,
                              "infer_patterns": lookup.infer_patterns,
                              "min_pattern_names": lookup.min_pattern_names},
    }


def _group(records: Iterable[StepRecord], key: Any) -> dict[str, list[StepRecord]]:
    groups: dict[str, list[StepRecord]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return dict(groups)


def _by_session(records: Iterable[StepRecord]) -> dict[str, list[StepRecord]]:
    groups = _group(records, lambda r: r.session_id)
    return {sid: sorted(g, key=lambda r: r.step_index) for sid, g in sorted(groups.items())}


def _mean(values: Sequence[float | bool]) -> float:
    return float(sum(values) / len(values)) if values else 0.0
