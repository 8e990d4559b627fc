"""What compare decides before it runs anything: the runs, their labels and their baselines."""

from __future__ import annotations

import pytest

from agents.agent_spec import AgentSpecError
from agents.compare import compare, plan_runs


def test_a_baseline_agent_is_paired_mode_by_mode_under_ablations():
    runs, pairs = plan_runs(["random", "frequency"], ablations=True, baseline="frequency")
    assert [label for label, _, _ in runs][:3] == ["random [real]", "random [none]", "random [shuffled]"]
    assert pairs == {"random [real]": "frequency [real]", "random [none]": "frequency [none]",
                     "random [shuffled]": "frequency [shuffled]"}
    _, pairs = plan_runs(["random", "frequency"], ablations=True, baseline="frequency [real]")
    assert set(pairs) == {"random [real]", "random [none]", "random [shuffled]", "frequency [none]",
                          "frequency [shuffled]"} and set(pairs.values()) == {"frequency [real]"}


def test_runs_that_would_share_a_directory_are_refused():
    with pytest.raises(AgentSpecError, match="would write the same directory 'a_b'"):
        plan_runs(["random:label=a/b", "frequency:label=a_b"])


def test_compare_checks_every_agent_before_opening_any_data(monkeypatch):
    import agents.compare as module

    def fail(*_, **__):
        raise AssertionError("opened the stores before checking the agents")

    monkeypatch.setattr(module, "open_stores", fail)
    with pytest.raises(AgentSpecError, match="unknown agent 'nosuch'"):
        compare(["random", "nosuch"])
    with pytest.raises(AgentSpecError, match="takes no option 'x'"):
        compare(["random"], agent_kwargs={"random": {"x": 1}})


def test_the_oracles_are_ceiling_rows_of_a_comparison(tmp_path, small_store_dir):
    """Issue 10 section 1: the oracle rows are marked as using hidden state, in the table and the JSON."""
    import json

    from agents.compare import SUMMARY_FILE, ceiling_labels
    from agents.registry import CEILING_MARK, HIDDEN_STATE_AGENTS
    from agents.rollout import RolloutConfig
    from customer_env.data.spec import StoreSpec

    assert HIDDEN_STATE_AGENTS == {"oracle", "oracle_shuffled_persona"}
    runs, _ = plan_runs(["markov", "oracle", "oracle_shuffled_persona:label=o2"])
    assert ceiling_labels(runs) == {"oracle", "o2"}
    config = RolloutConfig(data=StoreSpec(split="test", source=str(small_store_dir)), sessions=2, n_bootstrap=0)
    result = compare(["markov", "oracle"], config, out_dir=tmp_path, baseline="markov", progress=False)
    rows = {line.split(" | ")[0] for line in result.table.splitlines() if line.startswith("| ")}
    assert f"| oracle ({CEILING_MARK})" in rows and "| markov" in rows
    assert "Ceiling rows know the generator's hidden session state" in result.table
    written = json.loads((tmp_path / SUMMARY_FILE).read_text())["runs"]
    assert written["oracle"]["uses_hidden_state"] is True and "uses_hidden_state" not in written["markov"]
