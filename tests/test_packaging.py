"""What each install extra brings: the core needs no benchmark or plotting library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {r.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip() for r in requirements}


def _importers(module: str) -> set[str]:
    """The project files (packages, examples, benchmarks) that import ``module``."""
    found = set()
    for path in ROOT.glob("*/**/*.py"):
        if path.parts[len(ROOT.parts)] in ("tests", ".venv") or ".git" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name == module or name.startswith(module + ".") for name in names):
                found.add(str(path.relative_to(ROOT)))
    return found


def test_beautifulsoup_is_a_benchmark_dependency_not_a_core_one() -> None:
    extras = PROJECT["optional-dependencies"]
    assert "beautifulsoup4" not in _names(PROJECT["dependencies"])
    assert "beautifulsoup4" in _names(extras["bench"]) and "customer-r1" in _names(extras["test"])
    assert _importers("bs4") == {"benchmarks/env_throughput.py"}


def test_matplotlib_comes_with_the_compare_extra() -> None:
    extras = PROJECT["optional-dependencies"]
    assert "matplotlib" not in _names(PROJECT["dependencies"]) | _names(extras["train"])
    assert "matplotlib" in _names(extras["compare"]) and "compare" in extras["all"][0]
    assert _importers("matplotlib") == {"agents/report.py"}


def test_compare_says_which_extra_the_plot_needs_before_running(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import importlib.util

    from agents import compare

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    monkeypatch.setattr(compare, "plan_evaluation", lambda *a, **k: pytest.fail("ran before checking matplotlib"))
    with pytest.raises(ImportError, match=r"pip install 'customer-r1\[compare\]'"):
        compare.compare(["random"], out_dir=tmp_path)


def test_simulate_says_which_extra_the_plot_needs_before_running(monkeypatch: pytest.MonkeyPatch, tmp_path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    import agents.simulate
    from tests.examples.test_run_commands import load

    simulate = load("simulate")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    monkeypatch.setattr(agents.simulate, "run_simulation", lambda *a, **k: pytest.fail("ran before checking matplotlib"))
    assert simulate.main(["--agent", "random", "--out", str(tmp_path / "sim")]) == 2
    assert "pip install 'customer-r1[compare]'" in capsys.readouterr().err
