"""StoreSpec: one typed description of which data to read, checked once; the command-line options."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from customer_env.data import open_store
from customer_env.data.spec import StoreSpec, add_store_arguments, store_spec_from_args


def test_defaults_and_normalisation(tmp_path: Path) -> None:
    assert StoreSpec() == StoreSpec(source=None) == StoreSpec(source="embedded")
    assert StoreSpec().split == "train" and StoreSpec().variant == "filtered"
    assert StoreSpec(page_scale="compact").page_scale == 0.05 and StoreSpec(page_scale="0.25").page_scale == 0.25
    assert StoreSpec(source=tmp_path).source == str(tmp_path)
    spec = StoreSpec(source="hub", split="test", revision="v1.0")
    assert StoreSpec.from_dict(spec.to_dict()) == spec and spec.with_split("train").split == "train"


@pytest.mark.parametrize("options, message", [
    ({"variant": "fulll"}, "variant must be one of"),
    ({"split": "dev"}, "split must be one of"),
    ({"revision": "main"}, "revision applies to the hub source only"),
    ({"source": "hub", "page_scale": 0.1}, "page_scale applies to the embedded store only"),
    ({"page_scale": -1}, "finite number >= 0"),
    ({"page_scale": "tiny"}, "page_scale must be a number"),
    ({"source": ""}, "source must be"),
    ({"strict": "yes"}, "strict must be"),
])
def test_every_bad_option_is_refused_where_it_is_written(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StoreSpec(**options)
    with pytest.raises(ValueError, match=message):  # the same check through a copy
        StoreSpec().replace(**options)


def test_from_dict_names_unknown_keys() -> None:
    with pytest.raises(ValueError, match=r"unknown store option\(s\) \['scale'\]"):
        StoreSpec.from_dict({"scale": 0.1})


def test_open_store_is_a_spec_opened(small_store_dir: Path) -> None:
    spec = StoreSpec(source=str(small_store_dir), split="test")
    assert spec.open().fingerprint == open_store(str(small_store_dir), split="test").fingerprint
    assert spec.open().split == "test"


def test_the_env_takes_a_spec_or_its_fields_but_not_both(small_store_dir: Path, small_store: Any) -> None:
    import gymnasium as gym

    import customer_env  # noqa: F401 - registers OPeRA-v0

    spec = StoreSpec(source=str(small_store_dir), split="test")
    by_spec = gym.make("OPeRA-v0", store=spec, disable_env_checker=True)
    by_fields = gym.make("OPeRA-v0", source=str(small_store_dir), split="test", disable_env_checker=True)
    assert by_spec.unwrapped.session_ids == by_fields.unwrapped.session_ids
    with pytest.raises(ValueError, match="not both"):
        gym.make("OPeRA-v0", store=spec, split="test", disable_env_checker=True)
    with pytest.raises(ValueError, match="not both"):
        gym.make("OPeRA-v0", store=small_store, source=str(small_store_dir), disable_env_checker=True)
    with pytest.raises(ValueError, match="revision applies to the hub"):
        gym.make("OPeRA-v0", revision="main", disable_env_checker=True)


def _parse(argv: list[str]) -> StoreSpec:
    parser = argparse.ArgumentParser(prog="tool")
    add_store_arguments(parser, split="test")
    return store_spec_from_args(parser, parser.parse_args(argv))


def test_command_line_options(tmp_path: Path) -> None:
    assert _parse([]) == StoreSpec(split="test")
    assert _parse(["--source", "hub", "--revision", "abc", "--variant", "full", "--split", "train"]) == StoreSpec(
        source="hub", revision="abc", variant="full", split="train")
    assert _parse(["--page-scale", "compact", "--strict"]) == StoreSpec(split="test", page_scale=0.05, strict=True)


@pytest.mark.parametrize("argv, message", [
    (["--variant", "fulll"], "argument --variant: invalid choice: 'fulll'"),
    (["--page-scale", "-2"], "argument --page-scale: page_scale must be a finite number >= 0"),
    (["--revision", "main"], "revision applies to the hub source only"),
])
def test_command_line_errors_are_one_line(capsys: pytest.CaptureFixture, argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit):
        _parse(argv)
    err = capsys.readouterr().err
    assert f"tool: error: {message}" in err


def test_a_local_source_that_is_no_copy_of_the_dataset_is_refused_before_reading(tmp_path: Path,
                                                                                 small_store_dir: Path) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    for source, message in [(tmp_path / "missing", "no such directory"), (tmp_path / "file", "is a file"),
                            (tmp_path / "empty", "holds no OPeRA_filtered/ folder")]:
        with pytest.raises(ValueError, match=message):
            StoreSpec(source=source).check_source()
    with pytest.raises(ValueError, match="holds no OPeRA_full/ folder"):  # the small store has no full variant
        StoreSpec(source=small_store_dir, variant="full").check_source()
    for spec in (StoreSpec(source=small_store_dir), StoreSpec(), StoreSpec(source="hub")):
        spec.check_source()  # nothing to refuse (the embedded store and the hub are checked when opened)
    parser = argparse.ArgumentParser(prog="p")
    add_store_arguments(parser)
    with pytest.raises(SystemExit):
        store_spec_from_args(parser, parser.parse_args(["--source", str(tmp_path / "empty")]))
