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
