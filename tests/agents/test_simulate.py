"""Free shopping sessions in OPeRA-Shop-v0 (agents.simulate, examples/simulate.py): run files the
viewer and the scorer read, seeded determinism, resume, the comparison with its intervals, the
reference shopper against the store's recordings, and bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import agents
from agents.run_files import RESULTS_FILE, SAMPLES_FILE, read_results
from agents.simulate import (SimulationConfig, build_world, compare_with_reference, plan_episodes, run_simulation,
                             select_personas)
from customer_env.metrics import StepRecord, evaluate
from customer_env.shop.env import shop_click_types
from customer_env.shop.session_metrics import compare, contains_zero, recorded_summaries


def _config(small_store_dir: Path, **changes: Any) -> SimulationConfig:
    values: dict[str, Any] = {"personas": 2, "episodes": 1, "source": str(small_store_dir), "n_bootstrap": 50,
                              "max_steps": 12}
    values.update(changes)
    return SimulationConfig(**values)


def test_a_simulation_writes_a_run_the_viewer_and_the_scorer_read(small_store_dir: Path, tmp_path: Path) -> None:
    from agents.viewer import build_view, load_run, write_view

    config = _config(small_store_dir)
    result = run_simulation(agents.make("random", seed=0), config, out_dir=tmp_path / "run", progress=False,
                            agent_name="random")
    results = read_results(tmp_path / "run")  # checks the samples file against its recorded hash
    assert results["simulation"]["episodes"] == 2 and results["simulation"]["steps"] == len(result.samples)
    assert results["env"]["id"] == "OPeRA-Shop-v0" and results["provenance"]["fingerprints"]["world"]
    episodes = {s["session_id"] for s in result.samples}
    assert len(episodes) == 2 and sum(1 for s in result.samples if s["done"]) == 2
    # Every step carries the reference shopper's most likely action as its gold and the agent's
    # action's probability under the reference law.
    assert all(s["gold"] and s["reference"] and 0.0 <= s["reference"]["probability"] <= 1.0 for s in result.samples)
    # The scorer: the rollout metrics read the samples (gold: the reference mode).
    metrics = evaluate([StepRecord.from_sample(s) for s in result.samples], shop_click_types(build_world(config)),
                       n_bootstrap=0)
    assert metrics["n_steps"] == len(result.samples) and 0.0 <= metrics["headline"]["exact_match"]["value"] <= 1.0
    assert results["metrics"]["n_steps"] == len(result.samples)  # written with the run (reference-mode gold)
    # The viewer: one page of the run's trajectories.
    page = write_view(build_view([load_run(tmp_path / "run")]), tmp_path / "view.html")
    text = page.read_text(encoding="utf-8")
    assert all(sid in text for sid in episodes)


def test_seeded_simulations_are_identical_and_seeds_differ(small_store_dir: Path) -> None:
    def play(seed: int) -> list[dict[str, Any]]:
        config = _config(small_store_dir, seed=seed, reference_law=False)
        return run_simulation(agents.make("random", seed=seed), config, progress=False).samples

    first, again = play(0), play(0)
    assert first == again
    assert [s["completion"] for s in play(1)] != [s["completion"] for s in first]


def test_episodes_are_the_same_for_every_agent(small_store_dir: Path) -> None:
    config = _config(small_store_dir, personas=3, episodes=2)
    world = build_world(config)
    planned = plan_episodes(world, config)
    assert planned == plan_episodes(world, config) and len({e.seed for e in planned}) == 6
    assert [e.persona for e in planned] == [p for p in select_personas(world, 3) for _ in range(2)]


def test_a_resumed_simulation_equals_an_uninterrupted_one(small_store_dir: Path, tmp_path: Path) -> None:
    config = _config(small_store_dir, reference_law=False, personas=3)
    whole = run_simulation(agents.make("random", seed=0), config, out_dir=tmp_path / "run", progress=False)
    samples_path = tmp_path / "run" / SAMPLES_FILE
    lines = samples_path.read_text(encoding="utf-8").splitlines(keepends=True)
    first_end = next(i for i, line in enumerate(lines) if json.loads(line)["done"])
    # Interrupted in the middle of the second episode, with a torn last line.
    samples_path.write_text("".join(lines[:first_end + 2]) + lines[first_end + 2][:20], encoding="utf-8")
    (tmp_path / "run" / RESULTS_FILE).unlink()
    resumed = run_simulation(agents.make("random", seed=0), config, out_dir=tmp_path / "run", progress=False,
                             resume=True)
    assert resumed.samples == whole.samples
    finished = sum(1 for line in lines[:first_end + 2] if json.loads(line)["done"])
    assert 1 <= finished < 3 and resumed.info["simulation"]["episodes_resumed"] == finished
    read_results(tmp_path / "run")


def test_the_comparison_has_intervals_overall_and_per_persona(small_store_dir: Path, tmp_path: Path) -> None:
    config = _config(small_store_dir, personas=2, episodes=2, reference_law=False)
    payload = compare_with_reference("random", config, out_dir=tmp_path / "cmp", progress=False)
    assert (tmp_path / "cmp" / "comparison.json").is_file() and (tmp_path / "cmp" / "reference" / RESULTS_FILE).is_file()
    overall = payload["comparison"]["overall"]
    for key in ("action_type_jsd", "click_type_jsd"):
        entry = overall[key]
        assert 0.0 <= entry["value"] <= 1.0 and entry["low"] is not None and entry["low"] <= entry["high"]
    for key in ("length", "purchase_rate"):
        assert set(overall[key]) == {"run", "reference", "difference"}
    assert set(overall["effects"]) == {"price_conscious_sort_or_filter_by_price", "brand_loyal_filter_by_brand",
                                       "review_readers_read_reviews"}
    assert set(payload["comparison"]["per_persona"]) == set(select_personas(build_world(config), 2))
    assert payload["reference_seed"] != config.seed and payload["against"] == "reference_shopper"


def test_the_reference_shopper_matches_the_store_recordings_and_random_does_not() -> None:
    # The live shop is the world the recordings come from: the reference shopper's free runs of the
    # first 10 users agree with those users' recorded sessions within the bootstrap intervals
    # (every difference interval holds 0), while the random agent's do not.
    config = SimulationConfig(personas=10, episodes=5, page_scale=0.0, reference_law=False, n_bootstrap=300)
    world = build_world(config)
    recorded = recorded_summaries(world, select_personas(world, 10))
    reference = run_simulation(agents.make("reference_shopper", seed=0), config, world=world, progress=False)
    overall = compare(reference.sessions, recorded, n_bootstrap=300, seed=0)["overall"]
    assert overall["sessions"] == {"run": 50, "reference": len(recorded)} and len(recorded) >= 50
    for key in ("length", "purchase_rate"):
        assert contains_zero(overall[key]["difference"]), (key, overall[key]["difference"])
    for effect, block in overall["effects"].items():
        for part in ("rate", "effect"):
            assert contains_zero(block[part]["difference"]) in (True, None), (effect, part, block[part])
    assert overall["action_type_jsd"]["high"] < 0.01 and overall["click_type_jsd"]["high"] < 0.05
    few = SimulationConfig(personas=4, episodes=2, page_scale=0.0, reference_law=False, n_bootstrap=300, max_steps=30)
    random_run = run_simulation(agents.make("random", seed=0), few, world=world, progress=False)
    far = compare(random_run.sessions, recorded, n_bootstrap=300, seed=0)["overall"]
    assert far["click_type_jsd"]["low"] > overall["click_type_jsd"]["high"]


def test_a_model_agent_shops_unchanged(small_store_dir: Path, tiny_model_dir: Path) -> None:
    # Any agent of OPeRA-v0 runs in the shop as it is: a tiny transformers model through the
    # prompting agent, batched across episodes; whatever it writes, the run completes.
    agent = agents.make("prompting", model=str(tiny_model_dir), max_new_tokens=8, batch_size=2, device="cpu")
    result = run_simulation(agent, _config(small_store_dir, max_steps=3, max_prompt_tokens=1024), progress=False)
    assert len({s["session_id"] for s in result.samples}) == 2 and all(s["step_index"] < 3 for s in result.samples)
    assert result.info["env"]["lanes"] == 2
    assert all(not math.isnan(s["reference"]["log_probability"]) for s in result.samples)


def test_simulation_config_refuses_bad_values() -> None:
    for bad in ({"personas": 0}, {"episodes": 0}, {"max_steps": 0}, {"personas": True},
                {"reward": "likelihood", "reference_law": False}):
        with pytest.raises(ValueError):
            SimulationConfig(**bad)
    with pytest.raises(ValueError, match="unknown simulation config field"):
        SimulationConfig.from_dict({"colour": 1})
