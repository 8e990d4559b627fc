"""Agents with options, as the command line names them, checked before anything runs.

A *spec* is an agent name and its keyword arguments, written ``NAME`` or
``NAME:KEY=VALUE,KEY=VALUE`` (``customer_r1:checkpoint=runs/x``,
``prompting:backend=openai,model=m,base_url=http://127.0.0.1:8000/v1``). A comma starts a new
option only where ``KEY=`` follows it, so a JSON list value keeps its commas
(``random:input_texts=["a","b"]``). The key ``label`` names the run (it is not passed to the agent).

:func:`check_options` checks the options against the agent factory's signature
(``agents.registry``) and follows each ``**kwargs`` to where the factory declares it goes
(:func:`agents.registry.forwards_kwargs`: ``customer_r1`` -> its checkpoint loader -> the
prompting agent -> the chosen backend). It only imports and inspects; no model is built. Values
given as text are converted to the parameter's annotated type (``true``/``false``, integers,
finite numbers, JSON lists and objects, ``none``); an unannotated value is JSON when it parses,
else text. An unknown agent, an unknown key or a value of the wrong type is an
:class:`AgentSpecError` with a one-line message that names the agent and the key.

:func:`agent_specs` parses, checks and labels a whole list: a run is labelled by its agent name,
or, when one agent runs twice, by its name and options (``customer_r1[checkpoint=runs/x]``);
``label=`` chooses it. Labels are unique.

Example:
    >>> spec = parse_agent_spec("random:seed=3,label=r3")
    >>> spec.name, spec.options, spec.label
    ('random', {'seed': '3'}, 'r3')
    >>> check_options("random", spec.options)
    {'seed': 3}
    >>> [s.label for s in agent_specs(["frequency"], ["random:seed=1", "random:seed=2"])]
    ['frequency', 'random[seed=1]', 'random[seed=2]']
"""

from __future__ import annotations

import collections.abc
import inspect
import json
import math
import os
import re
import types
import typing
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

from agents.registry import factory, kwargs_forwarding

#: The spec key that names the run; it never reaches the agent.
LABEL_KEY = "label"
#: Parameters that take only an object, never text, and what to give instead.
OBJECT_ONLY = {
    "store": "the rollout passes the training store; choose the data with the data flags (--source, --split)",
    "tokenizer": "it takes a tokenizer object; a model path or checkpoint brings its own",
    "client": "it takes a client object; give base_url and api_key instead",
}

_OPTION_START = re.compile(r",(?=\s*[A-Za-z_][A-Za-z0-9_]*\s*=)")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
_NONE = ("none", "null")


class AgentSpecError(ValueError):
    """A spec that names no registered agent, or an option the agent does not take as given."""


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a comparison or rollout: its registry name, options and run label.

    Attributes:
        name: The registered agent name.
        options: Keyword arguments for the factory (text as given until :func:`check_spec`).
        label: The run's label (None: chosen by :func:`label_specs`).
        text: The spec as written (for messages; the name alone for a spec built in code).
    """

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    label: str | None = None
    text: str = ""

    def describe(self) -> str:
        """How the spec reads in messages."""
        return self.text or self.name


def parse_agent_spec(text: str) -> AgentSpec:
    """``NAME`` or ``NAME:KEY=VALUE,...`` -> an :class:`AgentSpec` with text values (not checked yet).

    Raises:
        AgentSpecError: for an empty name, an option without ``=`` or a key, or a repeated key.
    """
    name, sep, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise AgentSpecError(f"agent spec {text!r}: no agent name before ':'")
    options: dict[str, str] = {}
    if sep:
        if not rest.strip():
            raise AgentSpecError(f"agent spec {text!r}: nothing after ':' (write NAME:KEY=VALUE,...)")
        for pair in _OPTION_START.split(rest):
            key, eq, value = pair.partition("=")
            key = key.strip()
            if not eq or not _KEY.fullmatch(key):
                raise AgentSpecError(f"agent spec {text!r}: {pair!r} is not KEY=VALUE")
            if key in options:
                raise AgentSpecError(f"agent spec {text!r}: option {key!r} given twice")
            options[key] = value
    label = options.pop(LABEL_KEY, None)
    if label is not None and not label.strip():
        raise AgentSpecError(f"agent spec {text!r}: label is empty")
    return AgentSpec(name, options, label.strip() if label is not None else None, text.strip())


def check_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options converted to the types the factory of agent ``name`` declares.

    Raises:
        AgentSpecError: for an unknown agent, an unknown key, a value of the wrong type, a key
            that takes only an object, or a factory that cannot be imported.
    """
    try:
        build = factory(name)
    except KeyError as exc:
        raise AgentSpecError(exc.args[0]) from None
    except ImportError as exc:
        raise AgentSpecError(f"agent {name!r} cannot be loaded: {exc}") from None
    try:
        return _check(build, dict(options), frozenset())
    except _Unknown as exc:
        accepted = _accepted(build, frozenset(), dict(options))
        raise AgentSpecError(f"agent {name!r} takes no option {exc.key!r}; it takes: {', '.join(accepted)}") from None
    except _BadValue as exc:
        where = f"option {exc.key!r} " if exc.key else ""
        raise AgentSpecError(f"agent {name!r}: {where}{exc.reason}") from None


def check_spec(spec: AgentSpec) -> AgentSpec:
    """``spec`` with its options checked and typed (:func:`check_options`); the label is kept."""
    return replace(spec, options=check_options(spec.name, spec.options))


def label_specs(specs: Sequence[AgentSpec]) -> list[AgentSpec]:
    """Give every spec its label: ``label=`` if set, else its name, else (an agent that runs
    more than once) ``name[key=value,...]``.

    Raises:
        AgentSpecError: when two specs end with the same label (e.g. one agent given twice
            with the same options).
    """
    counts = collections.Counter(s.name for s in specs)
    labelled = []
    for spec in specs:
        label = spec.label
        if label is None:
            label = spec.name if counts[spec.name] == 1 or not spec.options else \
                f"{spec.name}[{','.join(f'{k}={_show(v)}' for k, v in spec.options.items())}]"
        labelled.append(replace(spec, label=label))
    seen: dict[str, AgentSpec] = {}
    for spec in labelled:
        assert spec.label is not None
        if spec.label in seen:
            raise AgentSpecError(f"two runs would both be labelled {spec.label!r} ({seen[spec.label].describe()} and "
                                 f"{spec.describe()}); give one a different label=")
        seen[spec.label] = spec
    return labelled


def agent_specs(names: Iterable[str] = (), specs: Iterable[str | AgentSpec] = ()) -> list[AgentSpec]:
    """Parse, check and label agents given as plain names and as specs (in that order).

    Args:
        names: Agent names (``--agents a,b,c``, split); a name may also be a full spec.
        specs: Specs (``--agent NAME:KEY=VALUE,...``, repeatable) or :class:`AgentSpec` objects.

    Raises:
        AgentSpecError: for the first spec that does not parse or check, or clashing labels.
    """
    parsed = [s if isinstance(s, AgentSpec) else parse_agent_spec(s) for s in (*names, *specs)]
    if not parsed:
        raise AgentSpecError("no agents given")
    return label_specs([check_spec(s) for s in parsed])


def split_names(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (the ``--agents`` list)."""
    return [n.strip() for n in text.split(",") if n.strip()]


def resolve_baseline(specs: Sequence[AgentSpec], baseline: str) -> str:
    """The label of the run that ``baseline`` names: a label, or the name of an agent run once.

    Raises:
        AgentSpecError: when it names no run, or an agent that runs more than once.
    """
    labels = [s.label for s in specs]
    if baseline in labels:
        return baseline
    matches = [s.label for s in specs if s.name == baseline]
    if len(matches) == 1 and matches[0] is not None:
        return matches[0]
    if matches:
        raise AgentSpecError(f"--baseline {baseline!r} names {len(matches)} runs ({', '.join(map(str, matches))}); "
                             "give one of these labels")
    raise AgentSpecError(f"--baseline {baseline!r} is none of the compared runs: {', '.join(map(str, labels))}")


# ----------------------------------------------------------------------------- the checking
class _Unknown(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _BadValue(Exception):
    def __init__(self, key: str | None, reason: str) -> None:
        self.key, self.reason = key, reason


_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _signature(fn: Callable[..., Any]) -> tuple[dict[str, inspect.Parameter], bool, dict[str, Any]]:
    """Named parameters, whether ``**kwargs`` is taken, and the resolved annotations."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature: anything goes
        return {}, True, {}
    try:
        hints = typing.get_type_hints(fn.__init__ if inspect.isclass(fn) else fn)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve checks nothing
        hints = {}
    named = {n: p for n, p in params.items() if p.kind in _NAMED}
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return named, takes_kwargs, hints


def _check(fn: Callable[..., Any], given: dict[str, Any], fills: frozenset[str]) -> dict[str, Any]:
    named, takes_kwargs, hints = _signature(fn)
    out: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for key, value in given.items():
        if key in named and key not in fills:
            if key in OBJECT_ONLY and isinstance(value, str):
                raise _BadValue(key, f"cannot be given as text: {OBJECT_ONLY[key]}")
            out[key] = _convert(value, hints.get(key, Any), key)
        else:
            rest[key] = value
    forwarding = kwargs_forwarding(fn) if takes_kwargs else None
    if forwarding is not None and (rest or forwarding.choose is not None):
        # A chooser is asked even with nothing to forward: it checks the choice (a backend name).
        try:
            target = forwarding.resolve(out)
        except (ValueError, ImportError) as exc:
            raise _BadValue(None, str(exc)) from None
        out.update(_check(target, rest, forwarding.fills))
    elif rest and not takes_kwargs:
        raise _Unknown(next(iter(rest)))
    elif rest:  # undeclared **kwargs: accepted as they are
        out.update({k: _loose(v) for k, v in rest.items()})
    return out


def _accepted(fn: Callable[..., Any], fills: frozenset[str], given: dict[str, Any]) -> list[str]:
    """Every option key the chain from ``fn`` takes (for the unknown-key message)."""
    named, takes_kwargs, _ = _signature(fn)
    keys = {k for k in named if k not in fills}
    if takes_kwargs:
        forwarding = kwargs_forwarding(fn)
        if forwarding is None:
            keys.add("(any other)")
        else:
            try:
                target = forwarding.resolve({k: v for k, v in given.items() if k in named})
                keys.update(_accepted(target, forwarding.fills, given))
            except (ValueError, ImportError):
                pass
    return sorted(keys - set(OBJECT_ONLY))


def _loose(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


#: Which member of a union text is tried as first: the strict readings before plain text.
def _rank(annotation: Any) -> int:
    origin = typing.get_origin(annotation) or annotation
    order = {type(None): 0, bool: 1, int: 2, float: 3}
    if origin in order:
        return order[origin]
    if origin in (list, tuple, collections.abc.Sequence, dict, collections.abc.Mapping):
        return 4
    return 5


def _convert(value: Any, annotation: Any, key: str) -> Any:
    """``value`` as ``annotation`` declares: text is converted, other values are type-checked."""
    members = _members(annotation)
    if any(m is Any for m in members):
        return _loose(value)
    if not isinstance(value, str):
        if any(_conforms(value, m) for m in members):
            return value
        raise _BadValue(key, f"expects {_expected(members)}, got {type(value).__name__} {value!r}")
    for member in sorted(members, key=_rank):
        converted = _from_text(value, member)
        if converted is not _FAIL:
            return converted
    raise _BadValue(key, f"expects {_expected(members)}, got {value!r}")


_FAIL = object()


def _from_text(text: str, annotation: Any) -> Any:
    origin = typing.get_origin(annotation) or annotation
    lowered = text.strip().lower()
    if annotation is type(None):
        return None if lowered in _NONE else _FAIL
    if origin is bool:
        return True if lowered in _TRUE else False if lowered in _FALSE else _FAIL
    if origin is int:
        try:
            return int(text.strip())
        except ValueError:
            return _FAIL
    if origin is float:
        try:
            number = float(text.strip())
        except ValueError:
            return _FAIL
        return number if math.isfinite(number) else _FAIL
    if origin in (str, os.PathLike):
        return text
    if origin in (list, tuple, collections.abc.Sequence, dict, collections.abc.Mapping):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return _FAIL
        return parsed if _conforms(parsed, annotation) else _FAIL
    return _FAIL  # an object type (a backend, sampling parameters): not from text


def _conforms(value: Any, annotation: Any) -> bool:
    if annotation is Any:
        return True
    members = _members(annotation)
    if len(members) > 1:
        return any(_conforms(value, m) for m in members)
    origin = typing.get_origin(annotation) or annotation
    args = typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is str:
        return isinstance(value, str)
    if origin is os.PathLike:
        return isinstance(value, (str, os.PathLike))
    if origin in (list, tuple, collections.abc.Sequence):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            return False
        inner = args[0] if args else Any
        return all(_conforms(v, inner) for v in value)
    if origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    try:
        return isinstance(value, origin)
    except TypeError:  # a protocol or alias isinstance cannot check
        return True


def _expected(members: Sequence[Any]) -> str:
    names = []
    for m in members:
        origin = typing.get_origin(m) or m
        names.append({type(None): "none", bool: "true or false", int: "an integer", float: "a finite number",
                      str: "text", os.PathLike: "a path"}.get(origin) or
                     (f"a JSON list{_of(m)}" if origin in (list, tuple, collections.abc.Sequence) else
                      "a JSON object" if origin in (dict, collections.abc.Mapping) else
                      f"a {getattr(origin, '__name__', origin)} object"))
    return " or ".join(dict.fromkeys(names))


def _of(annotation: Any) -> str:
    args = typing.get_args(annotation)
    return f" of {_expected(args[:1])}" if args and args[0] is not Any else ""


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
