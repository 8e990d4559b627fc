from __future__ import annotations

import json
from typing import Any

import pytest

from customer_env.actions import parse_completion
from customer_env.env import OperaEnv, is_scored
from customer_env.export import export_step_dataset, iter_step_examples, template_rationale
from customer_env.prompt import build_messages
from customer_env.records import Action


@pytest.fixture(scope="module")
def rows(small_store: Any) -> list[dict[str, Any]]:
    return list(iter_step_examples(small_store, max_prompt_tokens=4096, progress=False))


def test_one_row_per_step_in_session_order(small_store: Any, rows: list[dict[str, Any]]) -> None:
    expected = [(s.session_id, step.index) for s in small_store.iter_sessions() for step in s.steps]
    assert [(r["session_id"], r["step_index"]) for r in rows] == expected


def test_prompts_are_exactly_the_envs_observation_messages(small_store: Any, rows: list[dict[str, Any]]) -> None:
    env = OperaEnv(store=small_store, max_prompt_tokens=4096)
    for row in rows[::3]:  # every third step, through a mid-session reset (another code path)
        obs, info = env.reset(options={"session_id": row["session_id"], "step": row["step_index"]})
        assert row["prompt"] == build_messages(obs)
        assert row["page_names"] == json.dumps(list(env.page_names), ensure_ascii=False)
        assert (row["prompt_tokens"], row["fits"]) == (info["prompt_tokens"], info["fits"])


def test_gold_columns_and_completion(small_store: Any, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        step = small_store.session(row["session_id"]).steps[row["step_index"]]
        gold = step.action
        assert (row["gold_type"], row["gold_name"], row["gold_click_type"]) == (gold.type, gold.name, gold.click_type)
        assert row["gold_text"] == (gold.text if gold.type == "input" else None)
        assert row["user_id"] == small_store.session(row["session_id"]).user_id
        assert [m["role"] for m in row["completion"]] == ["assistant"]
        parsed = parse_completion(row["completion"][0]["content"], valid_names=json.loads(row["page_names"]))
        assert parsed.ok and parsed.format_ok and parsed.action.matches(gold)
        if row["rationale_source"] == "human":
            assert parsed.rationale == row["human_rationale"] == step.rationale
        else:
            assert row["rationale_source"] == "template" and row["human_rationale"] is None
            assert parsed.rationale == template_rationale(gold)


def test_empty_fill_and_persona_ablation(small_store: Any) -> None:
    sid = small_store.session_ids[0]
    rows = list(iter_step_examples({"store": small_store, "sessions": [sid]}, persona_mode="none",
                                   rationale_fill="empty", progress=False))
    assert len(rows) == len(small_store.session(sid))
    for row in rows:
        assert row["persona_mode"] == "none"
        assert "## Persona\n(no persona given)" in row["prompt"][1]["content"]
        rationale = parse_completion(row["completion"][0]["content"]).rationale
        assert (row["rationale_source"], rationale) in {("empty", ""), ("human", row["human_rationale"])}


def test_template_rationales_are_deterministic_descriptions() -> None:
    assert template_rationale(Action("click", "reviews", click_type="review")) == "I'll open the reviews."
    assert template_rationale(Action("input", "nav_bar.search_input", "rice cooker")) == "I'll search for rice cooker."
    assert template_rationale(Action("terminate")) == template_rationale(Action("terminate"))
    long_name = "x." + "very_long_slug_" * 30
    assert len(template_rationale(Action("click", long_name, click_type="other"))) < 90


def test_export_refuses_contradictory_options(small_store: Any) -> None:
    # Errors come at the call, before any row is asked for.
    with pytest.raises(ValueError, match="history_source"):
        iter_step_examples({"store": small_store, "history_source": "agent"}, progress=False)
    with pytest.raises(ValueError, match="split"):
        iter_step_examples(small_store, split="test", progress=False)
    with pytest.raises(ValueError, match="rationale_fill"):
        iter_step_examples(small_store, rationale_fill="model", progress=False)
    with pytest.raises(ValueError, match="max_prompt_tokens"):
        iter_step_examples({"store": small_store, "max_prompt_tokens": 4096}, max_prompt_tokens=2048,
                           progress=False)


def test_env_kwargs_options_are_kept(small_store: Any, rows: list[dict[str, Any]]) -> None:
    sid = small_store.session_ids[-1]
    kept = list(iter_step_examples({"store": small_store, "max_prompt_tokens": 4096, "sessions": [sid]},
                                   progress=False))
    assert kept == [r for r in rows if r["session_id"] == sid]


def test_dataset_holds_the_same_rows(small_store: Any, rows: list[dict[str, Any]]) -> None:
    sid = small_store.session_ids[0]
    dataset = export_step_dataset({"store": small_store, "sessions": [sid]}, max_prompt_tokens=4096,
                                  progress=False)
    expected = [r for r in rows if r["session_id"] == sid]
    assert dataset.num_rows == len(expected)
    assert dataset.to_list() == expected


def test_full_variant_rows_are_the_predicted_steps(small_full_store: Any) -> None:
    sid = small_full_store.session_ids[0]
    rows = list(iter_step_examples({"store": small_full_store, "sessions": [sid]}, progress=False))
    steps = small_full_store.session(sid).steps
    assert [r["step_index"] for r in rows] == [s.index for s in steps if is_scored(s)]
    env = OperaEnv(store=small_full_store)
    for row in rows[::4]:
        obs, _ = env.reset(options={"session_id": sid, "step": row["step_index"]})
        assert row["prompt"] == build_messages(obs)


def test_step_columns_are_one_schema() -> None:
    from customer_env.export import GOLD_COLUMNS, PAGE_NAMES_COLUMN, STEP_COLUMNS, step_features

    assert list(step_features()) == list(STEP_COLUMNS)
    assert set(GOLD_COLUMNS) | {PAGE_NAMES_COLUMN} <= set(STEP_COLUMNS)


def test_page_names_and_gold_columns_round_trip() -> None:
    from customer_env.export import decode_page_names, encode_page_names, gold_from_columns

    assert decode_page_names(encode_page_names(["a.b", "é"]), 0) == {"a.b", "é"}
    assert decode_page_names(None, 0) is None and decode_page_names(float("nan"), 0) is None
    with pytest.raises(ValueError, match="row 7: page_names is not a JSON list"):
        decode_page_names("not json", 7)
    with pytest.raises(ValueError, match="row 1: page_names must be a JSON list, got dict"):
        decode_page_names('{"a": 1}', 1)
    assert gold_from_columns("input", "nav_bar.search_input", "mug", float("nan")) == Action(
        "input", "nav_bar.search_input", "mug")
    with pytest.raises(ValueError, match="gold_type is missing"):
        gold_from_columns(None)


def test_command_line_writes_both_splits_with_licence_and_citations(small_store_dir, tmp_path, capsys) -> None:
    import datasets

    from customer_env.export import main

    out = tmp_path / "steps"
    assert main(["--out", str(out), "--source", str(small_store_dir), "--sessions", "1",
                 "--max-prompt-tokens", "4096"]) == 0
    saved = datasets.load_from_disk(str(out))
    assert set(saved) == {"train", "test"} and saved["train"].num_rows > 0
    info = saved["train"].info
    assert info.license == "CC-BY-4.0, for research purposes only"
    assert "arXiv" in info.citation and "wang2025operadatasetobservationpersona" in info.citation
    assert "wang2025customerr1" in info.citation and "local copy" not in info.description
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-4.0\n") and "```bibtex" in card
    assert "train: " in capsys.readouterr().out
    with pytest.raises(SystemExit):  # never overwrites
        main(["--out", str(out), "--source", str(small_store_dir)])


def test_command_line_pushes_when_asked(small_store_dir, tmp_path, monkeypatch) -> None:
    import datasets

    import customer_env.export as export

    pushed = []
    monkeypatch.setattr(datasets.DatasetDict, "push_to_hub", lambda self, repo, **kw: pushed.append((repo, kw)))
    monkeypatch.setattr(export, "_publish_card", lambda repo, info: pushed.append((repo, info.license)))
    export.main(["--out", str(tmp_path / "s"), "--source", str(small_store_dir), "--split", "test",
                 "--sessions", "1", "--push-to-hub", "me/opera-steps", "--private"])
    assert pushed == [("me/opera-steps", {"private": True}), ("me/opera-steps", "CC-BY-4.0, for research purposes only")]
    assert set(datasets.load_from_disk(str(tmp_path / "s"))) == {"test"}
