"""Shards of an evaluation: a partition of the sessions, and a merge equal to one run or a refusal."""

from __future__ import annotations

import json
import shutil

import pytest

import agents
from agents.merge import MergeError, main, merge, merge_runs
from agents.rollout import RolloutConfig, run_rollout
from agents.sharding import Shard, ShardError
from customer_env.data.spec import StoreSpec


def config(small_store_dir, **kw):
    values = {"data": StoreSpec(source=str(small_store_dir), split="train"), "sessions": 7, "batch_size": 3,
              "n_bootstrap": 300}
    return RolloutConfig(**{**values, **kw})


def run(name, cfg, small_store, out, **agent_kwargs):
    agent = agents.make(name, **({"store": small_store} if name != "random" else {"seed": 2}), **agent_kwargs)
    return run_rollout(agent, cfg, store=small_store, train_store=small_store, progress=False, out_dir=out,
                       agent_name=name)


@pytest.fixture(scope="module")
def shards(small_store, small_store_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    single = run("frequency", config(small_store_dir), small_store, root / "single")
    for i in (1, 2):
        run("frequency", config(small_store_dir, shard=Shard(i, 2)), small_store, root / f"shard{i}")
    return root, single


def test_shards_partition_the_selected_sessions_whole_and_deterministically():
    ids = [f"s{i}" for i in range(11)]
    parts = [Shard(i, 3).select(ids) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(ids) and all(set(a).isdisjoint(b) for a in parts for b in parts if a != b)
    assert [len(p) for p in parts] == [4, 4, 3] and parts[1] == ["s1", "s4", "s7", "s10"]
    assert Shard.parse(" 2/3 ") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    for bad in ("0/2", "3/2", "1", "a/b", "1/0", "-1/2"):
        with pytest.raises(ValueError, match="expected I/N with 1 <= I <= N"):
            Shard.parse(bad)
    with pytest.raises(ShardError, match="only 2 sessions are selected, so at most 2 shards"):
        Shard(3, 3).select(["a", "b"])


def test_two_merged_shards_equal_one_run(shards, small_store, tmp_path):
    root, single = shards
    one, two = (json.loads((root / f"shard{i}" / "run.json").read_text()) for i in (1, 2))
    assert set(one["sessions"]).isdisjoint(two["sessions"])
    assert sorted(one["sessions"] + two["sessions"]) == sorted(single.manifest.sessions)
    merged = merge_runs([root / "shard2", root / "shard1"], tmp_path / "merged", store=small_store,
                        train_store=small_store)
    # Every metric, bootstrap intervals included, as one run computes it on the same sessions.
    assert merged.metrics == single.metrics
    assert merged.metrics["headline"]["exact_match"]["low"] < merged.metrics["headline"]["exact_match"]["high"]
    assert merged.samples == single.samples
    results = json.loads((tmp_path / "merged" / "results.json").read_text())
    assert results["metrics"] == json.loads((root / "single" / "results.json").read_text())["metrics"]
    assert [m["shard"] for m in results["run"]["merged_from"]] == ["1/2", "2/2"]
    assert results["rollout"]["steps"] == len(single.samples) and results["config"]["shard"] is None
    # The merged run's identity is the single run's: the two are interchangeable for view and compare.
    assert json.loads((tmp_path / "merged" / "run.json").read_text())["fingerprints"] == \
        json.loads((root / "single" / "run.json").read_text())["fingerprints"]
    merged_lines = sorted((tmp_path / "merged" / "samples.jsonl").read_text().splitlines())
    assert merged_lines == sorted((root / "single" / "samples.jsonl").read_text().splitlines())


def test_the_merge_command_refuses_what_is_not_one_evaluation(shards, small_store, small_store_dir, tmp_path,
                                                              capsys):
    root, _ = shards
    other_seed = tmp_path / "seed1"
    run("frequency", config(small_store_dir, shard=Shard(2, 2), seed=1), small_store, other_seed)
    other_agent = tmp_path / "random2"
    run("random", config(small_store_dir, shard=Shard(2, 2)), small_store, other_agent)
    three = tmp_path / "three"
    run("frequency", config(small_store_dir, shard=Shard(2, 3)), small_store, three)
    unfinished = tmp_path / "unfinished"
    shutil.copytree(root / "shard2", unfinished)
    (unfinished / "results.json").unlink()
    edited = tmp_path / "edited"
    shutil.copytree(root / "shard2", edited)
    lines = (edited / "samples.jsonl").read_text().splitlines(keepends=True)
    (edited / "samples.jsonl").write_text("".join(lines[:-1]))
    cases = [
        ([other_seed], "are not shards of one evaluation: config.seed is 0 in"),
        ([other_agent], "are not shards of one evaluation: agent."),
        ([three], "shards of different splits cannot be merged"),
        ([root / "shard1"], "overlapping shards: .*shard1 and .*shard1 are both shard 1/2"),
        ([], "missing shard\\(s\\) 2/2: got 1/2"),
        ([unfinished], "unfinished.*results.json: not found: the run is unfinished"),
        ([edited], "samples changed after the results were written"),
        ([root / "single"], "single: not a shard"),
    ]
    for extra, expected in cases:
        code = main([str(root / "shard1"), *map(str, extra), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and err.startswith("merge: error: "), err
        assert __import__("re").search(expected, err), (expected, err)
        assert not (tmp_path / "out" / "results.json").exists()
    assert main([str(root / "shard1"), str(root / "shard2"), "--out", str(tmp_path / "out")]) == 0
    assert main([str(root / "shard1"), str(root / "shard2"), "--out", str(tmp_path / "out")]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_comparison_shards_merge_into_the_unsharded_comparison(small_store, small_store_dir, tmp_path):
    from agents.compare import compare

    names = ["random", "frequency"]
    cfg = config(small_store_dir, sessions=5, n_bootstrap=100)
    whole = compare(names, cfg, ablations=True, baseline="frequency", out_dir=tmp_path / "whole", progress=False)
    for i in (1, 2):
        compare(names, config(small_store_dir, sessions=5, n_bootstrap=100, shard=Shard(i, 2)), ablations=True,
                baseline="frequency", out_dir=tmp_path / f"part{i}", progress=False)
    merged = merge([tmp_path / "part1", tmp_path / "part2"], tmp_path / "merged")
    assert merged.table == whole.table and list(merged.results) == list(whole.results)
    assert all(merged.results[label].metrics == whole.results[label].metrics for label in whole.results)
    # The paired session-bootstrap differences against the baseline too, mode by mode.
    assert merged.paired == whole.paired and set(merged.paired) == {"random [real]", "random [none]", "random [shuffled]"}
    assert (tmp_path / "merged" / "comparison.md").read_text() == (tmp_path / "whole" / "comparison.md").read_text()
    assert json.loads((tmp_path / "merged" / "comparison.json").read_text()) == \
        json.loads((tmp_path / "whole" / "comparison.json").read_text())
    assert (tmp_path / "merged" / "distributions.png").is_file()
    with pytest.raises(MergeError, match="not shards of one comparison: baseline_pairs"):
        compare(names, config(small_store_dir, sessions=5, n_bootstrap=100, shard=Shard(2, 2)), ablations=True,
                out_dir=tmp_path / "unpaired", progress=False)
        merge([tmp_path / "part1", tmp_path / "unpaired"], tmp_path / "nope")
    with pytest.raises(MergeError, match="give only run directories or only comparison folders"):
        merge([tmp_path / "part1", tmp_path / "part2" / "random__real"], tmp_path / "mixed")
