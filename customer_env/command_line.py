"""How every command line of the project refuses bad input: one line on stderr, exit status 2, early.

argparse, by default, accepts any unambiguous prefix of a long option (``--learning_rat`` is
``--learning_rate``, ``--sess`` is ``--sessions``), so a misspelt flag can silently start a run,
and it prints the whole usage before its error: for the trainers, hundreds of lines. Every
script builds its parser from :class:`CommandLineParser` (the trainers' TRL parser mixes in
:class:`OneLineErrors` the same way): prefixes are refused (``allow_abbrev=False``) and an error is
``PROG: error: MESSAGE``, one line, exit status 2. The argument types :func:`existing_file` and
:func:`existing_directory` refuse a missing path at parse time, before anything is loaded;
:func:`positive_int` and :func:`non_negative_int` a count out of range.

Example:
    >>> parser = CommandLineParser(prog="demo")
    >>> _ = parser.add_argument("--sessions", type=int)
    >>> parser.parse_args(["--sessions", "3"]).sessions
    3
    >>> parser.parse_args(["--sess", "3"])  # doctest: +SKIP
    demo: error: unrecognized arguments: --sess 3
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

#: The exit status of a command line refused before any work (argparse's own).
USAGE_ERROR = 2


def one_line(message: object) -> str:
    """``message`` with its whitespace (newlines included) collapsed: one line."""
    return " ".join(str(message).split())


class OneLineErrors:
    """argparse's ``error`` as one line on stderr and exit status 2, without the usage text.

    A mixin for any ``argparse.ArgumentParser`` subclass (``--help`` still prints the usage).
    """

    prog: str

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {one_line(message)}\n")  # type: ignore[attr-defined]


class CommandLineParser(OneLineErrors, argparse.ArgumentParser):
    """An ``ArgumentParser`` that refuses option prefixes and reports errors in one line."""

    def __init__(self, *args: Any, allow_abbrev: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, allow_abbrev=allow_abbrev, **kwargs)


def existing_file(text: str) -> Path:
    """An argument type: the path of an existing file (argparse names the option when it is not)."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: {'is a directory, not a file' if path.is_dir() else 'no such file'}")
    return path


def existing_directory(text: str) -> Path:
    """An argument type: the path of an existing directory (argparse names the option when it is not)."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: {'is a file, not a directory' if path.exists() else 'no such directory'}")
    return path


def positive_int(text: str) -> int:
    """An argument type: an integer of at least 1 (a count, a size, a budget)."""
    return _bounded_int(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """An argument type: an integer of at least 0 (0 usually meaning none)."""
    return _bounded_int(text, 0, "an integer >= 0")


def _bounded_int(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


__all__ = ["USAGE_ERROR", "one_line", "OneLineErrors", "CommandLineParser", "existing_file", "existing_directory",
           "positive_int", "non_negative_int"]
