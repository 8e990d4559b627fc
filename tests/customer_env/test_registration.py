from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym

import customer_env
from customer_env.registration import ENVIRONMENTS, register_environments


def _run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONWARNINGS": "error"})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_import_registers_every_environment() -> None:
    for env_id, entry_point in ENVIRONMENTS.items():
        assert gym.spec(env_id).entry_point == entry_point
        assert entry_point.startswith("customer_env.")


def test_registration_is_idempotent_and_silent() -> None:
    specs = {env_id: gym.spec(env_id) for env_id in ENVIRONMENTS}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert register_environments() == []
    assert not caught
    assert all(gym.spec(env_id) is spec for env_id, spec in specs.items())


def test_import_is_light() -> None:
    heavy = ("torch", "transformers", "datasets", "trl", "pyarrow", "lxml")
    out = _run_python("import sys, json, customer_env; "
                      f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))")
    assert json.loads(out) == []


def test_lazy_attributes_resolve() -> None:
    from customer_env.env import OperaEnv
    from customer_env.step_env import OperaStepEnv

    assert customer_env.OperaEnv is OperaEnv
    assert customer_env.OperaStepEnv is OperaStepEnv
    assert "OperaEnv" in dir(customer_env)


def test_make_with_module_prefix_without_prior_import(small_store_dir: Path) -> None:
    out = _run_python(
        "import gymnasium as gym\n"
        f"env = gym.make('customer_env:OPeRA-v0', source={str(small_store_dir)!r})\n"
        "obs, info = env.reset(seed=0)\n"
        "step_env = gym.make('customer_env:OPeRA-Step-v0', source="
        f"{str(small_store_dir)!r})\n"
        "print(sorted(obs), info['session_id'] in env.unwrapped.session_ids)\n"
    )
    assert out.strip() == "['actionable_names', 'history', 'page', 'persona', 'url'] True"
