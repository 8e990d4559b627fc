"""Runs written as they go: interrupted and resumed, torn lines, refused resumes, and the samples' hash."""

from __future__ import annotations

import hashlib
import json
import random
import shutil

import pytest

import agents
from agents.base import BaseAgent
from agents.rollout import RolloutConfig, run_rollout, write_rollout
from agents.run_files import (LOCK_FILE, RunFileError, check_samples, file_sha256, prompt_sha256, read_results,
                              read_samples)
from customer_env.actions import Action, format_completion
from customer_env.data.spec import StoreSpec


class Interrupted(RuntimeError):
    """What the fault-injecting agents raise."""


class BatchSeeded(BaseAgent):
    """A sampler whose answers depend on the whole batch it is asked (like a model seeded per batch).

    A resume that asked other batches than an uninterrupted run would get other answers.
    """

    def __init__(self, seed: int = 0, fail_after_calls: int | None = None) -> None:
        self.seed, self.fail_after_calls, self.calls, self.observations = seed, fail_after_calls, 0, 0

    def act(self, observation):
        return self.act_batch([observation])[0]

    def act_batch(self, observations):
        if self.fail_after_calls is not None and self.calls >= self.fail_after_calls:
            raise Interrupted(f"fault injected after {self.calls} calls")
        self.calls += 1
        self.observations += len(observations)
        batch = hashlib.sha256(json.dumps([o["page"] for o in observations]).encode()).hexdigest()
        texts = []
        for position, observation in enumerate(observations):
            rng = random.Random(f"{self.seed}:{batch}:{position}")
            names = [n for n in observation["actionable_names"].splitlines() if n]
            action = Action("click", rng.choice(names)) if names and rng.random() < 0.8 else Action("terminate")
            texts.append(format_completion(action, f"batch {batch[:6]} lane {position}"))
        return texts

    def describe(self):
        return {"class": "BatchSeeded", "seed": self.seed}


def config(small_store_dir, **kw):
    values = {"data": StoreSpec(source=str(small_store_dir), split="train"), "sessions": 6, "batch_size": 3,
              "n_bootstrap": 200}
    return RolloutConfig(**{**values, **kw})


def run(agent, cfg, small_store, **kw):
    return run_rollout(agent, cfg, store=small_store, train_store=small_store, progress=False, **kw)


@pytest.fixture(scope="module")
def uninterrupted(small_store, small_store_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    result = run(BatchSeeded(seed=7), config(small_store_dir), small_store, out_dir=out)
    return out, result


def test_samples_are_on_disk_as_each_step_is_scored(small_store, small_store_dir, tmp_path):
    out = tmp_path / "run"
    on_disk = []
    run(agents.make("random", seed=1), config(small_store_dir), small_store, out_dir=out,
        on_step=lambda sample: on_disk.append(len((out / "samples.jsonl").read_bytes().splitlines())))
    assert on_disk == list(range(1, len(on_disk) + 1))  # flushed before the next step is played
    assert json.loads((out / "results.json").read_text())["samples_sha256"] == file_sha256(out / "samples.jsonl")
    assert json.loads((out / "run.json").read_text())["sessions"] == json.loads((out / "run.json").read_text())["selected"]


@pytest.mark.parametrize("fail_after_calls", [1, 4, 9])
def test_an_interrupted_run_resumes_to_the_uninterrupted_samples_and_metrics(
        fail_after_calls, uninterrupted, small_store, small_store_dir, tmp_path):
    full_dir, full = uninterrupted
    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run(BatchSeeded(seed=7, fail_after_calls=fail_after_calls), config(small_store_dir), small_store, out_dir=out)
    cut = len(read_samples(out / "samples.jsonl").samples)
    assert 0 < cut < len(full.samples) and not (out / "results.json").exists()
    fresh = BatchSeeded(seed=7)
    resumed = run(fresh, config(small_store_dir), small_store, out_dir=out, resume=True)
    assert (out / "samples.jsonl").read_bytes() == (full_dir / "samples.jsonl").read_bytes()
    assert resumed.metrics == full.metrics and resumed.samples == full.samples
    assert resumed.info["run"]["resume"]["steps_recorded"] == cut
    # Only the steps not recorded were asked of the agent (whole batches: at most one batch again).
    assert len(full.samples) - cut <= fresh.observations < len(full.samples) - cut + 3
    check_samples(read_results(out), out / "samples.jsonl")


def test_a_killed_process_leaves_a_torn_line_that_the_resume_drops_and_counts(
        uninterrupted, small_store, small_store_dir, tmp_path):
    full_dir, full = uninterrupted
    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run(BatchSeeded(seed=7, fail_after_calls=5), config(small_store_dir), small_store, out_dir=out)
    whole = len(read_samples(out / "samples.jsonl").samples)
    line = (full_dir / "samples.jsonl").read_bytes().splitlines(keepends=True)[whole]
    with open(out / "samples.jsonl", "ab") as handle:  # what a kill in the middle of a write leaves
        handle.write(line[: len(line) // 2])
    resumed = run(BatchSeeded(seed=7), config(small_store_dir), small_store, out_dir=out, resume=True)
    state = resumed.info["run"]["resume"]
    assert state["torn_lines_dropped"] == 1 and state["torn_bytes_dropped"] == len(line) // 2
    assert any("dropped a torn last line" in note for note in state["notes"])
    assert (out / "samples.jsonl").read_bytes() == (full_dir / "samples.jsonl").read_bytes()
    assert resumed.metrics == full.metrics


def test_a_corrupt_line_before_the_end_is_refused_not_dropped(small_store, small_store_dir, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run(BatchSeeded(fail_after_calls=3), config(small_store_dir), small_store, out_dir=out)
    lines = (out / "samples.jsonl").read_bytes().splitlines(keepends=True)
    lines[1] = b'{"session_id": \n'
    (out / "samples.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(RunFileError, match=r"samples\.jsonl:2: not a JSON line"):
        run(BatchSeeded(), config(small_store_dir), small_store, out_dir=out, resume=True)


def test_a_finished_run_that_other_code_would_replay_differently_is_left_as_it_was(
        small_store, small_store_dir, tmp_path, monkeypatch):
    import agents.rollout as rollout

    out = tmp_path / "run"
    run(BatchSeeded(), config(small_store_dir), small_store, out_dir=out)
    before = {name: (out / name).read_bytes() for name in ("run.json", "samples.jsonl", "results.json")}
    original = rollout._sample
    monkeypatch.setattr(rollout, "_sample", lambda *a: {**original(*a), "new_field": 1})
    with pytest.raises(RunFileError, match=r"samples\.jsonl:1 .*fields new_field\).*another version"):
        run(BatchSeeded(), config(small_store_dir), small_store, out_dir=out, resume=True)
    assert {name: (out / name).read_bytes() for name in before} == before
    check_samples(read_results(out), out / "samples.jsonl")


def test_a_recorded_step_that_does_not_replay_is_refused(small_store, small_store_dir, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run(BatchSeeded(fail_after_calls=3), config(small_store_dir), small_store, out_dir=out)
    lines = (out / "samples.jsonl").read_text().splitlines(keepends=True)
    sample = json.loads(lines[2])
    sample["reward"] = 123.0
    lines[2] = json.dumps(sample, ensure_ascii=False) + "\n"
    (out / "samples.jsonl").write_text("".join(lines))
    with pytest.raises(RunFileError, match=r"samples\.jsonl:3 .*does not replay to the line recorded \(fields reward\)"):
        run(BatchSeeded(), config(small_store_dir), small_store, out_dir=out, resume=True)


@pytest.mark.parametrize("change, field", [
    ({"seed": 1}, "config.seed"),
    ({"batch_size": 2}, "config.batch_size"),
    ({"persona_mode": "none"}, "config.persona_mode"),
    ({"log_prompts": True}, "config.log_prompts"),
])
def test_a_resume_with_another_config_is_refused_in_one_line(change, field, small_store, small_store_dir, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run(BatchSeeded(fail_after_calls=2), config(small_store_dir), small_store, out_dir=out)
    before = (out / "samples.jsonl").read_bytes()
    with pytest.raises(RunFileError) as caught:
        run(BatchSeeded(), config(small_store_dir, **change), small_store, out_dir=out, resume=True)
    message = str(caught.value)
    assert message.startswith("resume refused:") and f"{field} is " in message and "\n" not in message
    assert (out / "samples.jsonl").read_bytes() == before  # nothing touched


def test_a_resume_with_another_agent_or_dataset_is_refused(small_store, small_store_dir, tmp_path):
    from customer_env.data import open_store
    from customer_env.synthetic import generate_store
    from tests.conftest import SMALL_STORE

    out = tmp_path / "run"
    with pytest.raises(Interrupted):
        run(BatchSeeded(seed=7, fail_after_calls=2), config(small_store_dir), small_store, out_dir=out)
    with pytest.raises(RunFileError, match=r"resume refused: .*agent\.describe\.seed is 8 here but 7"):
        run(BatchSeeded(seed=8), config(small_store_dir), small_store, out_dir=out, resume=True)
    with pytest.raises(RunFileError, match=r"resume refused: .*agent\.describe\.class is \"RandomAgent\""):
        run(agents.make("random", seed=7), config(small_store_dir), small_store, out_dir=out, resume=True)
    # The same path, other data: the store was regenerated with another seed since the run began.
    other_dir = tmp_path / "store"
    shutil.copytree(small_store_dir, other_dir)
    cfg = config(other_dir)
    out2 = tmp_path / "run2"
    with pytest.raises(Interrupted):
        run(BatchSeeded(fail_after_calls=2), cfg, open_store(str(other_dir)), out_dir=out2)
    shutil.rmtree(other_dir)
    generate_store(other_dir, **{**SMALL_STORE, "seed": 5})
    with pytest.raises(RunFileError, match=r"resume refused: .*dataset\.fingerprint is"):
        run(BatchSeeded(), cfg, open_store(str(other_dir)), out_dir=out2, resume=True)


def test_an_existing_run_is_neither_overwritten_nor_shared(small_store, small_store_dir, tmp_path):
    from filelock import FileLock

    out = tmp_path / "run"
    run(agents.make("random"), config(small_store_dir, sessions=2), small_store, out_dir=out)
    digest = file_sha256(out / "samples.jsonl")
    with pytest.raises(RunFileError, match="already holds a run .*pass --resume .* --overwrite"):
        run(agents.make("random"), config(small_store_dir, sessions=2), small_store, out_dir=out)
    assert file_sha256(out / "samples.jsonl") == digest
    with FileLock(str(out / LOCK_FILE)):  # another process writing it
        with pytest.raises(RunFileError, match="another process is writing this run"):
            run(agents.make("random"), config(small_store_dir, sessions=2), small_store, out_dir=out, resume=True)
    again = run(agents.make("random", seed=3), config(small_store_dir, sessions=2), small_store, out_dir=out,
                overwrite=True)
    assert json.loads((out / "run.json").read_text())["agent"]["seed"] == 3 and again.files
    # A resume of a finished run replays it without asking the agent and gives the same files.
    before = (out / "samples.jsonl").read_bytes()
    idle = BatchSeeded(fail_after_calls=0)
    idle.describe = lambda: {"class": "RandomAgent", "seed": 3}
    resumed = run(idle, config(small_store_dir, sessions=2), small_store, out_dir=out, resume=True)
    assert (out / "samples.jsonl").read_bytes() == before and resumed.metrics == again.metrics


def test_results_record_the_samples_hash_and_a_changed_pair_is_detected(small_store, small_store_dir, tmp_path):
    from agents.predictions import score_predictions
    from agents.viewer import ViewerError, load_run

    out = tmp_path / "run"
    run(agents.make("frequency", store=small_store), config(small_store_dir, sessions=2), small_store, out_dir=out)
    results = read_results(out)
    assert results["samples_sha256"] == file_sha256(out / "samples.jsonl")
    assert score_predictions(out / "samples.jsonl", data=StoreSpec(source=str(small_store_dir), split="train"),
                             store=small_store,
                             train_store=small_store, only_predicted_sessions=True, n_bootstrap=0).counts["scored"]
    lines = (out / "samples.jsonl").read_text().splitlines(keepends=True)
    (out / "samples.jsonl").write_text("".join(lines[:-1]))  # the results now describe more samples than exist
    with pytest.raises(RunFileError, match="differs from the .* that results.json records"):
        read_results(out)
    with pytest.raises(ViewerError, match="differs from the"):
        load_run(out)
    assert any("differs from the" in note for note in load_run(out, skip_bad=True).notes)
    with pytest.raises(RunFileError, match="differs from the"):
        score_predictions(out / "samples.jsonl", store=small_store, train_store=small_store)
    # write_rollout (a run made in memory) records the hash too.
    result = run(agents.make("random"), config(small_store_dir, sessions=2), small_store)
    samples_path, _ = write_rollout(result, tmp_path / "memory")
    assert read_results(tmp_path / "memory")["samples_sha256"] == file_sha256(samples_path)


def test_every_sample_records_its_prompt_hash_and_logs_the_prompt_on_request(small_store, small_store_dir, tmp_path):
    from agents.viewer import build_view, load_run

    plain = run(agents.make("random", seed=1), config(small_store_dir, sessions=2), small_store)
    other = run(agents.make("frequency", store=small_store), config(small_store_dir, sessions=2), small_store)
    logged = run(agents.make("random", seed=1), config(small_store_dir, sessions=2, log_prompts=True), small_store,
                 out_dir=tmp_path / "logged")
    assert all("observation" not in s for s in plain.samples)
    # Two agents read the same inputs: the same hashes, step by step.
    assert [s["prompt_sha256"] for s in plain.samples] == [s["prompt_sha256"] for s in other.samples]
    assert len({s["prompt_sha256"] for s in plain.samples}) > 1
    for sample in logged.samples:
        observation = sample["observation"]
        assert set(observation) >= {"persona", "page", "history", "actionable_names"}
        canonical = json.dumps(observation, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        assert sample["prompt_sha256"] == hashlib.sha256(canonical.encode()).hexdigest() == prompt_sha256(observation)
    cell = build_view([load_run(tmp_path / "logged")]).steps[0].cells[0]
    assert cell.page is not None and cell.page.text == logged.samples[0]["observation"]["page"][:20_000]
    assert logged.samples[0]["prompt_sha256"] in cell.prompt_info


def test_an_interrupted_comparison_resumes_to_the_uninterrupted_one(small_store, small_store_dir, tmp_path):
    from agents.compare import compare

    failing = {"after": None}
    agents.register("batch_seeded", lambda seed=0: BatchSeeded(seed, fail_after_calls=failing["after"]),
                    overwrite=True)
    names, cfg = ["random", "batch_seeded"], config(small_store_dir, sessions=4, n_bootstrap=100)
    whole = compare(names, cfg, ablations=True, out_dir=tmp_path / "whole", progress=False)
    failing["after"] = 2
    with pytest.raises(Interrupted):
        compare(names, cfg, ablations=True, out_dir=tmp_path / "cut", progress=False)
    finished = sorted(p.parent.name for p in (tmp_path / "cut").glob("*/results.json"))
    assert finished == ["random__none", "random__real", "random__shuffled"]
    failing["after"] = None
    with pytest.raises(RunFileError, match="already holds a comparison"):
        compare(names, cfg, ablations=True, out_dir=tmp_path / "cut", progress=False)
    resumed = compare(names, cfg, ablations=True, out_dir=tmp_path / "cut", progress=False, resume=True)
    assert resumed.table == whole.table
    for run_dir in (tmp_path / "whole").glob("*/samples.jsonl"):
        assert run_dir.read_bytes() == (tmp_path / "cut" / run_dir.parent.name / "samples.jsonl").read_bytes()
    assert (tmp_path / "cut" / "comparison.md").read_text() == (tmp_path / "whole" / "comparison.md").read_text()
    states = {label: r.info["run"]["resume"] for label, r in resumed.results.items()}
    assert states["random [real]"]["steps_recorded"] == len(resumed.results["random [real]"].samples)
    assert 0 < states["batch_seeded [real]"]["steps_recorded"] < len(resumed.results["batch_seeded [real]"].samples)
    assert states["batch_seeded [shuffled]"]["notes"][0].startswith("nothing to resume")
