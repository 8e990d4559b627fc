"""Every benchmark runs in ``--quick`` mode and reports what it should.

These are smoke tests: they check the structure of each benchmark's output (the Markdown table,
the JSON written with ``--out``) and the invariants that hold at any size (the two paths read the
same data, a prompt never exceeds its budget, same seed gives same tokens on CPU). They time
nothing: performance is measured by the benchmarks themselves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import data_load, env_throughput, grpo_rollout, prompt_budget, shop_render

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ("env_throughput", "prompt_budget", "data_load", "grpo_rollout", "shop_render")


def _table(output: str, header_start: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with ``header_start``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header_start}"))
    assert lines[start + 1].startswith("|---|")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _written(path: Path, results: dict[str, Any]) -> dict[str, Any]:
    written = json.loads(path.read_text())
    assert written["benchmark"] == results["benchmark"]
    assert written["quick"] is True
    assert {"cpu", "cores"} <= set(written["machine"])
    return written


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_run_from_the_command_line(script: str) -> None:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / f"{script}.py"), "--help"],
                          capture_output=True, text=True, check=False, cwd=REPO / "benchmarks")
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--out" in done.stdout


def test_env_throughput_quick(small_store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "env.json"
    results = env_throughput.main(["--quick", "--store", str(small_store_dir), "--out", str(out)])
    rows = _table(capsys.readouterr().out, "path")
    assert [r[0].split(" (")[0] for r in rows] == [
        "OPeRA-v0 step", "lxml parse of the step's page", "BeautifulSoup rendering", "BeautifulSoup rendering"]
    written = _written(out, results)
    assert written["steps"] > 0 and written["env_ms_per_step"] > 0 and written["lxml_ms_per_page"] > 0
    assert set(written["bs4_ms_per_page"]) == {"lxml", "html.parser"}
    assert written["bs4_names_agree"][0] == written["bs4_names_agree"][1] > 0
    assert set(written["targets_met"]) == {"env_within_3x_lxml", "env_10x_faster_than_bs4"}


def test_bs4_outline_keeps_every_named_element() -> None:
    text = env_throughput.bs4_outline('<div name="a">Hi <b name="a.b">there</b><i name=" ">x</i></div>')
    assert text.splitlines() == ['<div name="a">Hi there x</div>', '<b name="a.b">there</b>']


def test_prompt_budget_quick(small_store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "budget.json"
    results = prompt_budget.main(["--quick", "--store", str(small_store_dir), "--out", str(out), "--no-progress"])
    rows = _table(capsys.readouterr().out, "budget")
    assert [(int(r[0]), r[1]) for r in rows] == [(b, m) for b in prompt_budget.BUDGETS for m in ("ours", "naive")]
    written = _written(out, results)
    assert written["steps"] > 0 and written["sessions"] == 4  # two per split
    for key, summary in written["results"].items():
        budget = int(key.split("@")[1])
        assert summary["steps"] == written["steps"]
        assert summary["max_tokens"] <= budget, key  # both ways fit the budget by construction
        assert 0.0 <= summary["reachability"] <= 1.0


def test_naive_prompt_drops_oldest_steps_then_cuts_the_page_end() -> None:
    from customer_env.prompt import default_counter

    counter = default_counter()
    history = [(f"Step {i + 1}: x", f'<a name="old{i}">' + "p" * 3000 + "</a>") for i in range(5)]
    page = '<a name="first">a</a>' + "q" * 60000 + '<a name="last">z</a>'
    observation, tokens, kept = prompt_budget.naive_prompt("persona", history, page, "u", 8192, counter)
    assert tokens <= 8192 and kept == 0
    assert prompt_budget.name_on_page("first", observation["page"])
    assert not prompt_budget.name_on_page("last", observation["page"])
    observation, tokens, kept = prompt_budget.naive_prompt("persona", history, "<p>short</p>", "u", 4096, counter)
    assert 0 < kept < 5 and "old4" in observation["history"] and "old0" not in observation["history"]


def test_data_load_quick(small_store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "load.json"
    results = data_load.main(["--quick", "--store", str(small_store_dir), "--out", str(out)])
    rows = _table(capsys.readouterr().out, "method")
    assert [r[0].split(" ")[0] for r in rows] == ["store", "pandas.read_parquet"]
    written = _written(out, results)
    store, pandas_ = written["summary"]["store"], written["summary"]["pandas"]
    assert store["steps"] == pandas_["steps"] > 0 and store["page_chars"] == pandas_["page_chars"] > 0
    assert store["peak_mib"] > 0 and pandas_["peak_mib"] > 0
    assert written["peak_ratio_above_baseline"] > 0


def test_grpo_rollout_quick_on_cpu(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "grpo.json"
    results = grpo_rollout.main(["--device", "cpu", "--quick", "--out", str(out)])
    rows = _table(capsys.readouterr().out, "path")
    assert [r[0] for r in rows] == ["TRL default generate", "ours (fast_generation)"]
    written = _written(out, results)
    assert written["device"] == "cpu" and written["shape"] == "tiny"
    assert all(s > 0 for s in written["seconds_per_group"].values())
    # Same seed, float32 on CPU: the prefix-shared path samples exactly the plain path's tokens.
    assert written["float32_check_agreement"]["token_fraction"] == 1.0
    assert written["timed_run_agreement"]["token_fraction"] == 1.0


def test_shop_render_quick(small_store_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "shop.json"
    results = shop_render.main(["--quick", "--store", str(small_store_dir), "--out", str(out)])
    rows = _table(capsys.readouterr().out, "path")
    assert [r[0].split(" (")[0] for r in rows] == ["OPeRA-v0 step", "OPeRA-Shop-v0 step",
                                                  "OPeRA-Shop-v0 step with the reference law"]
    written = _written(out, results)
    # The same recorded sessions through both: the shop takes every recorded step (none invalid).
    assert written["shop_steps"] == written["opera_v0_steps"] > 0 and written["law_sessions"] == 1
    assert written["shop_over_opera_v0"] == pytest.approx(written["shop_ms_per_step"] / written["opera_v0_ms_per_step"])
    assert set(written["targets_met"]) == {"shop_within_3x_opera_v0"}
