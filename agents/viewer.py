"""A trajectory viewer: one or two rollout runs as one self-contained static HTML page.

A *run* is a directory written by :func:`agents.rollout.write_rollout` (``samples.jsonl`` and
``results.json``; each agent's directory inside a compare output folder is one). The page lists
the sessions with each run's accuracy, then every step: the persona, the rendered prompt and the
page (collapsed), the human's action beside each run's predicted action and rationale, the reward
and its components, and whether it was correct. Filters select steps by correctness, action type
and click type. Two runs are aligned by ``(session_id, step_index)``; steps present in one run
only are shown as such and counted.

Samples are read for the keys they have: the prompt, the page and the persona are shown when a
sample logs them (``prompt``, ``observation``, ``page``, ``persona``, ...) and marked "not logged"
otherwise; every key the viewer does not know is listed under "other fields", so nothing is
hidden. The page is rendered by Jinja2 with autoescaping (a completion's HTML is text, never
markup); its one script is inline, allowed by a hash in the page's Content-Security-Policy,
which also forbids every network request. Long texts are cut at ``max_text_chars`` (the cut is
said, with the samples line that holds the whole text) so that a large run stays a file a
browser opens quickly.

Example:
    >>> view = build_view([load_run("runs/frequency"), load_run("runs/random")])  # doctest: +SKIP
    >>> view.only_in, len(view.steps)  # doctest: +SKIP
    >>> write_view(view, "runs/frequency/view.html")  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from agents.rollout import session_label
from agents.run_files import RESULTS_FILE, RUN_FILE, SAMPLES_FILE, escape_lone_surrogates, samples_problem
from customer_env.cache import atomic_write_text

#: Characters of one long text (prompt, page, completion, other field) kept in the page.
DEFAULT_MAX_TEXT_CHARS = 20_000
#: Keys under which a sample may log the rendered prompt (a string or a list of chat messages).
PROMPT_KEYS = ("prompt", "rendered_prompt", "messages")
#: Keys of the sample, or of its ``observation`` dict, that may hold the page and the persona.
PAGE_KEYS = ("page", "simplified_html")
PERSONA_KEYS = ("persona", "persona_text")
#: The keys the step view shows in their own places; any other key goes under "other fields".
SHOWN_KEYS = frozenset({
    "session_id", "step_index", "user_id", "persona_user_id", "persona_mode", "completion", "predicted",
    "predicted_rationale", "parse_ok", "parse_error", "gold", "reward", "reward_components", "correct",
    "human_rationale", "session_length", "session_purchased", "prompt_tokens", "prompt_sha256",
    "fits", "within_budget", "page_elements_dropped", "gold_in_prompt",
    "observation", "history", "url", *PROMPT_KEYS, *PAGE_KEYS, *PERSONA_KEYS})
NOT_LOGGED = "not logged"


#: The gold column's name for a live-shop simulation's runs (OPeRA-Shop-v0, ``examples/simulate.py``).
SIMULATION_GOLD_LABEL = "Reference shopper (most likely)"


class ViewerError(ValueError):
    """A run that cannot be read; the message names the file (and line) at fault."""


@dataclass
class Run:
    """One rollout run as read from its directory.

    Attributes:
        path: The run directory.
        label: How the page names the run (the agent's name from results.json, else the directory's).
        samples: The samples in file order.
        lines: The samples file line of each sample.
        results: results.json (empty when the file is absent).
        skipped: Counted skips (only with ``skip_bad``), by reason.
        notes: Things worth knowing about the run (a missing results file, a count that disagrees).
    """

    path: Path
    label: str
    samples: list[dict[str, Any]]
    lines: list[int]
    results: dict[str, Any] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


def load_run(run_dir: str | Path, *, label: str | None = None, skip_bad: bool = False) -> Run:
    """Read a run directory's samples and results.

    Args:
        run_dir: A directory holding ``samples.jsonl`` (and usually ``results.json``).
        label: The run's name on the page (default: the agent named in results.json, else the
            directory name).
        skip_bad: Skip (and count) malformed or duplicate sample lines instead of failing.

    Raises:
        ViewerError: The directory or its samples file is missing (a compare output folder is
            recognised and its run directories named), a line is not a JSON object with a string
            ``session_id`` and an integer ``step_index``, a step repeats (unless ``skip_bad``), or
            results.json is not a JSON object.
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise ViewerError(f"{path}: no such run directory")
    samples_path = path / SAMPLES_FILE
    if not samples_path.is_file():
        inner = sorted(p.parent.name for p in path.glob(f"*/{SAMPLES_FILE}"))
        if inner:
            raise ViewerError(f"{samples_path}: not found; {path} looks like a compare output folder, "
                              f"pass one or two of its run directories: {', '.join(inner)}")
        raise ViewerError(f"{samples_path}: not found (a run directory holds {SAMPLES_FILE} and {RESULTS_FILE})")
    results, notes = _read_results(path / RESULTS_FILE, skip_bad)
    if results:
        # A results file computed from other samples (a half-written or edited pair) is not shown as theirs.
        problem = samples_problem(results, samples_path)
        if problem is not None and "samples_sha256" in results and not skip_bad:
            raise ViewerError(f"{problem} (--skip-bad shows the samples anyway)")
        if problem is not None:
            notes.append(problem)
    elif (path / RUN_FILE).is_file():
        notes.append(f"the run is unfinished or was interrupted ({RUN_FILE} but no {RESULTS_FILE})")
    samples, lines, skipped = _read_samples(samples_path, skip_bad)
    if not samples:
        raise ViewerError(f"{samples_path}: no samples" + (f" ({sum(skipped.values())} lines skipped)"
                                                           if skipped else ""))
    expected = _get(results, "metrics", "n_steps")
    if isinstance(expected, int) and expected != len(samples):
        notes.append(f"{RESULTS_FILE} counts {expected} steps, {SAMPLES_FILE} has {len(samples)}")
    name = label or _get(results, "agent_name") or _get(results, "agent", "name") or path.resolve().name
    return Run(path, str(name), samples, lines, results, skipped, notes)


def _read_results(path: Path, skip_bad: bool) -> tuple[dict[str, Any], list[str]]:
    if not path.is_file():
        return {}, [f"{RESULTS_FILE} not found: no provenance or metrics shown"]
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(results, dict):
            raise ValueError(f"a JSON {type(results).__name__}, not an object")
    except (ValueError, UnicodeDecodeError) as exc:
        if skip_bad:
            return {}, [f"{RESULTS_FILE} unreadable and ignored: {_one_line(exc)}"]
        raise ViewerError(f"{path}: not a JSON object ({_one_line(exc)})") from None
    return results, []


def _read_samples(path: Path, skip_bad: bool) -> tuple[list[dict[str, Any]], list[int], Counter]:
    samples: list[dict[str, Any]] = []
    lines: list[int] = []
    skipped: Counter = Counter()
    first_line: dict[tuple[str, int], int] = {}
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            problem, reason, sample = _check_sample(raw)
            key = (sample["session_id"], sample["step_index"]) if sample is not None else None
            if problem is None and key in first_line:
                problem, reason = (f"step {key[1]} of session {key[0]!r} repeats line {first_line[key]}",
                                   "duplicate_step")
            if problem is not None:
                if not skip_bad:
                    raise ViewerError(f"{path}:{number}: {problem}")
                skipped[reason] += 1
                continue
            first_line[key] = number
            samples.append(sample)
            lines.append(number)
    return samples, lines, skipped


def _check_sample(raw: bytes) -> tuple[str | None, str, dict[str, Any] | None]:
    """(problem, reason, sample): problem is None for a usable sample."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 ({_one_line(exc)})", "not_utf8", None
    try:
        sample = json.loads(text)
    except ValueError as exc:
        return f"not JSON ({_one_line(exc)})", "malformed_json", None
    if not isinstance(sample, dict):
        return f"a JSON {type(sample).__name__}, not an object", "not_an_object", None
    if not isinstance(sample.get("session_id"), str) or not sample["session_id"]:
        return "field session_id: missing or not a non-empty string", "bad_session_id", None
    index = sample.get("step_index")
    if isinstance(index, bool) or not isinstance(index, int):
        return "field step_index: missing or not an integer", "bad_step_index", None
    return None, "", sample


# -- the view model: what the template shows, computed here so the template only lays it out --------


@dataclass
class Text:
    """A text as shown: at most ``max_text_chars`` of it, and how many characters were cut."""

    text: str
    omitted: int = 0
    line: int | None = None


@dataclass
class ActionView:
    type: str
    name: str | None
    text: str | None
    click_type: str | None


@dataclass
class Cell:
    """One run's answer at one step."""

    line: int
    predicted: ActionView | None
    rationale: str | None
    parse_error: str | None
    completion: Text | None
    correct: bool | None
    reward: str
    components: list[tuple[str, str]]
    persona: str
    prompt: Text | None  # a string prompt
    prompt_messages: list[tuple[str, Text]]  # a chat prompt: (role, content)
    prompt_info: str
    page: Text | None
    history: Text | None
    same_prompt_as: str | None
    same_page_as: str | None
    extras: list[tuple[str, Text]]


@dataclass
class Step:
    number: int
    session: int
    step_index: int
    session_length: Any
    gold: ActionView | None
    gold_differs: bool
    human_rationale: str | None
    cells: list[Cell | None]

    @property
    def gold_type(self) -> str:
        return self.gold.type if self.gold else "unknown"

    @property
    def gold_click_type(self) -> str:
        return (self.gold.click_type or "none") if self.gold else "none"


@dataclass
class SessionRow:
    number: int
    session_id: str
    label: str
    user_id: str
    steps: list[Step]
    length: Any
    purchased: Any
    accuracy: list[tuple[int, int] | None]  # per run: (correct, scored), None when absent
    personas: list[tuple[str, Text | None]]  # per run: (who and mode, persona text)


@dataclass
class RunHeader:
    label: str
    path: str
    facts: list[tuple[str, str]]  # shown at once
    provenance: list[tuple[str, str]]  # shown on demand
    notes: list[str]


@dataclass
class View:
    runs: list[RunHeader]
    sessions: list[SessionRow]
    steps: list[Step]
    only_in: list[int]  # per run: steps that the other run lacks
    gold_differs: int
    action_types: list[str]
    click_types: list[str]
    #: Whose action each step's gold is: the human's in a replay, the reference shopper's most
    #: likely action in a live-shop simulation (its results carry a ``simulation`` block).
    gold_label: str = "Human"


def build_view(runs: Sequence[Run], *, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS) -> View:
    """Align the runs' steps by ``(session_id, step_index)`` and compute what the page shows."""
    if not 1 <= len(runs) <= 2:
        raise ValueError(f"the viewer shows one or two runs, got {len(runs)}")
    labels = display_labels(runs)
    by_key: dict[tuple[str, int], list[tuple[dict[str, Any], int] | None]] = {}
    session_order: dict[str, int] = {}
    for r, run in enumerate(runs):
        for sample, line in zip(run.samples, run.lines):
            key = (sample["session_id"], sample["step_index"])
            session_order.setdefault(key[0], len(session_order))
            by_key.setdefault(key, [None] * len(runs))[r] = (sample, line)
    keys = sorted(by_key, key=lambda k: (session_order[k[0]], k[1]))
    numbers = {sid: n for n, sid in enumerate(session_order, start=1)}
    steps: list[Step] = []
    for number, key in enumerate(keys, start=1):
        entries = by_key[key]
        present = [e[0] for e in entries if e is not None]
        golds = [_action(s.get("gold")) for s in present]
        first = next((e for e in entries if e is not None))[0]
        cells: list[Cell | None] = []
        for r, entry in enumerate(entries):
            # The second run's prompt and page are shown as "same as" the first's when equal.
            first_run = (labels[0], entries[0][0]) if r == 1 and entries[0] is not None else None
            cells.append(None if entry is None else _cell(entry[0], entry[1], max_text_chars, first_run))
        steps.append(Step(number, numbers[key[0]], key[1], first.get("session_length"), golds[0],
                          any(g != golds[0] for g in golds[1:]), _str_or_none(first.get("human_rationale")),
                          cells))
    sessions = _sessions(runs, steps, keys, by_key, numbers, max_text_chars)
    only_in = [sum(1 for e in by_key.values() if e[r] is not None and any(x is None for x in e))
               for r in range(len(runs))] if len(runs) == 2 else [0]
    return View(runs=[_header(run, label) for run, label in zip(runs, labels)], sessions=sessions, steps=steps,
                only_in=only_in,
                gold_differs=sum(1 for s in steps if s.gold_differs),
                action_types=sorted({s.gold_type for s in steps} | _predicted(steps, "type")),
                click_types=sorted({s.gold_click_type for s in steps} | _predicted(steps, "click_type")),
                gold_label=SIMULATION_GOLD_LABEL if any("simulation" in run.results for run in runs) else "Human")


def _predicted(steps: Sequence[Step], attribute: str) -> set[str]:
    return {getattr(c.predicted, attribute) or "none" for s in steps for c in s.cells if c and c.predicted}


def _sessions(runs: Sequence[Run], steps: Sequence[Step], keys: Sequence[tuple[str, int]],
              by_key: Mapping[tuple[str, int], list], numbers: Mapping[str, int], limit: int) -> list[SessionRow]:
    rows: dict[str, SessionRow] = {}
    for step, key in zip(steps, keys):
        sid = key[0]
        row = rows.get(sid)
        if row is None:
            first = next(e for e in by_key[key] if e is not None)[0]
            row = rows[sid] = SessionRow(numbers[sid], sid, session_label(sid), str(first.get("user_id", "")),
                                         [], first.get("session_length"), first.get("session_purchased"),
                                         [None] * len(runs), [("", None)] * len(runs))
        row.steps.append(step)
        for r, entry in enumerate(by_key[key]):
            if entry is None:
                continue
            sample = entry[0]
            if row.accuracy[r] is None:
                row.accuracy[r] = (0, 0)
                text = _persona_text(sample)
                row.personas[r] = (_persona_line(sample), None if text is None else _clip(text, limit, entry[1]))
            correct = sample.get("correct")
            if isinstance(correct, bool):
                done, scored = row.accuracy[r]
                row.accuracy[r] = (done + correct, scored + 1)
    return list(rows.values())


def _cell(sample: Mapping[str, Any], line: int, limit: int,
          first_run: tuple[str, Mapping[str, Any]] | None) -> Cell:
    """One run's answer; ``first_run`` is (label, sample) of the first run at the same step, if any."""
    prompt = _prompt(sample)
    messages = _messages(prompt, limit, line)
    page = _page(sample)
    history = _field(sample, "history")
    same_prompt = same_page = None
    if first_run is not None:
        same_prompt = first_run[0] if prompt is not None and prompt == _prompt(first_run[1]) else None
        same_page = first_run[0] if page is not None and page == _page(first_run[1]) else None
    components = sample.get("reward_components")
    correct = sample.get("correct")
    completion = sample.get("completion")
    info = [f"{k} {sample[k]}" for k in ("prompt_tokens", "prompt_sha256") if sample.get(k) is not None]
    info += [text for key, text in (("fits", "prompt does not fit"), ("within_budget", "prompt over budget"),
                                    ("gold_in_prompt", "human's target cut from the prompt"))
             if sample.get(key) is False]
    if isinstance(sample.get("page_elements_dropped"), int) and sample["page_elements_dropped"] > 0:
        info.append(f"{sample['page_elements_dropped']} page elements dropped")
    return Cell(
        line=line,
        predicted=_action(sample.get("predicted")),
        rationale=_str_or_none(sample.get("predicted_rationale")),
        parse_error=_str_or_none(sample.get("parse_error")),
        completion=None if completion is None else _clip(_as_text(completion), limit, line),
        correct=correct if isinstance(correct, bool) else None,
        reward=_number(sample.get("reward")),
        components=[(str(k), _number(v)) for k, v in components.items()] if isinstance(components, dict) else [],
        persona=_persona_line(sample),
        prompt=None if prompt is None or same_prompt or messages else _clip(_as_text(prompt), limit, line),
        prompt_messages=[] if same_prompt else messages,
        prompt_info=", ".join(info),
        page=None if page is None or same_page else _clip(_as_text(page), limit, line),
        history=None if history is None else _clip(_as_text(history), limit, line),
        same_prompt_as=same_prompt, same_page_as=same_page,
        extras=[(k, _clip(_as_text(v), limit, line)) for k, v in sample.items() if k not in SHOWN_KEYS],
    )


def _prompt(sample: Mapping[str, Any]) -> Any:
    return next((sample[k] for k in PROMPT_KEYS if sample.get(k) is not None), None)


def _messages(prompt: Any, limit: int, line: int) -> list[tuple[str, Text]]:
    """A chat prompt (a list of messages with content) as (role, content) pairs; else []."""
    if prompt and isinstance(prompt, list) and all(isinstance(m, dict) and "content" in m for m in prompt):
        return [(str(m.get("role", "?")), _clip(_as_text(m["content"]), limit, line)) for m in prompt]
    return []


def _field(sample: Mapping[str, Any], key: str) -> Any:
    """``sample[key]``, else ``sample["observation"][key]``, else None."""
    if sample.get(key) is not None:
        return sample[key]
    observation = sample.get("observation")
    return observation.get(key) if isinstance(observation, dict) else None


def _page(sample: Mapping[str, Any]) -> Any:
    return next((v for v in (_field(sample, k) for k in PAGE_KEYS) if v is not None), None)


def _persona_text(sample: Mapping[str, Any]) -> str | None:
    value = next((v for v in (_field(sample, k) for k in PERSONA_KEYS) if v is not None), None)
    return None if value is None else _as_text(value)


def _persona_line(sample: Mapping[str, Any]) -> str:
    who = sample.get("persona_user_id")
    mode = sample.get("persona_mode")
    parts = [f"persona of {who}" if who else ("no persona" if mode == "none" else "persona user unknown")]
    if mode:
        parts.append(f"mode {mode}")
    return ", ".join(map(str, parts))


def _action(value: Any) -> ActionView | None:
    if not isinstance(value, dict):
        return None
    return ActionView(str(value.get("type") or "unknown"), _str_or_none(value.get("name")),
                      _str_or_none(value.get("text")), _str_or_none(value.get("click_type")))


def display_labels(runs: Sequence[Run]) -> list[str]:
    """The runs' labels, made distinct (two ``frequency`` runs become ``frequency (dir)``)."""
    labels = [run.label for run in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{run.label} ({run.path.resolve().name})" for run in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{label} [{n}]" for n, label in enumerate(labels, start=1)]
    return labels


def _header(run: Run, label: str) -> RunHeader:
    results = run.results
    facts: list[tuple[str, str]] = [("steps", str(len(run.samples))),
                                    ("sessions", str(len({s["session_id"] for s in run.samples})))]
    scored = [s["correct"] for s in run.samples if isinstance(s.get("correct"), bool)]
    if scored:
        facts.append(("accuracy (steps)", f"{100 * sum(scored) / len(scored):.1f}% of {len(scored)}"))
    exact = _get(results, "metrics", "headline", "exact_match")
    if isinstance(exact, dict) and isinstance(exact.get("value"), (int, float)):
        interval = ""
        if isinstance(exact.get("low"), (int, float)) and isinstance(exact.get("high"), (int, float)):
            interval = f" [{100 * exact['low']:.1f}, {100 * exact['high']:.1f}]"
        facts.append(("exact match (results.json)", f"{100 * exact['value']:.1f}%{interval}"))
    facts += _facts(results, (("split", ("dataset", "split")), ("persona mode", ("config", "persona_mode")),
                              ("on mismatch", ("config", "on_mismatch"))))
    provenance = _facts(results, (("agent", ("agent", "name")), ("dataset", ("dataset", "description")),
                                  ("fingerprint", ("dataset", "fingerprint")), ("seed", ("seed",)),
                                  ("git commit", ("provenance", "git_commit")),
                                  ("created", ("provenance", "created"))))
    notes = list(run.notes)
    if run.skipped:
        notes.append(f"{sum(run.skipped.values())} sample lines skipped: "
                     + ", ".join(f"{n} {reason}" for reason, n in sorted(run.skipped.items())))
    return RunHeader(label, str(run.path), facts, provenance, notes)


def _facts(results: Mapping[str, Any], paths: Sequence[tuple[str, tuple[str, ...]]]) -> list[tuple[str, str]]:
    """(label, value) of each path whose value in results.json is a scalar."""
    values = [(label, _get(results, *path)) for label, path in paths]
    return [(label, str(v)) for label, v in values if v is not None and not isinstance(v, (dict, list))]


def _get(mapping: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _clip(text: str, limit: int, line: int | None = None) -> Text:
    if limit > 0 and len(text) > limit:
        return Text(text[:limit], len(text) - limit, line)
    return Text(text, 0, line)


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1, default=str)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else _as_text(value)


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "n/a" if value is None else _as_text(value)
    return "nan" if isinstance(value, float) and math.isnan(value) else f"{value:.4g}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# -- the page ----------------------------------------------------------------------------------------------


def render_html(view: View, *, title: str | None = None) -> str:
    """The page of a :class:`View` (see :func:`build_view`), as a self-contained HTML string."""
    try:
        import jinja2
        from markupsafe import Markup
    except ImportError as exc:
        raise ImportError("the trajectory viewer needs Jinja2: pip install 'customer-r1[view]'") from exc

    templates = resources.files("agents") / "templates"
    script = (templates / "viewer.js").read_text(encoding="utf-8")
    style = (templates / "viewer.css").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    template = env.from_string((templates / "viewer.html.j2").read_text(encoding="utf-8"))
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return template.render(
        view=view, title=title or " vs ".join(r.label for r in view.runs), not_logged=NOT_LOGGED,
        # Our own files, inserted verbatim; the hash lets only this script run (CSP in the template).
        script=Markup(script), style=Markup(style), script_hash=f"sha256-{digest}", two=len(view.runs) == 2)


def write_view(view: View, out_path: str | Path, *, title: str | None = None) -> Path:
    """Render ``view`` and write the page to ``out_path`` atomically; returns the path."""
    out = Path(out_path)
    # A completion may hold a lone surrogate, which UTF-8 cannot encode: show it as its escape.
    atomic_write_text(out, escape_lone_surrogates(render_html(view, title=title)))
    return out
