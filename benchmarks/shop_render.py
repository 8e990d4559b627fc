"""Steps per second of OPeRA-Shop-v0 (the live shop writes and renders every page) against
OPeRA-v0's step on the same sessions (it renders the recorded page), in the same process.

Both environments replay the same recorded sessions of one generated store at full page size:
OPeRA-v0 reads each step's stored page, compresses it and renders the prompt; the live shop
(:mod:`customer_env.shop`) is given the session's recorded actions (``reset(options={"session_id":
...})``), so each step it applies the action, writes the page the action leads to with the store's
page writers, compresses it and renders the prompt. The ratio (shop / OPeRA-v0, per step) is the
price of writing pages instead of reading them. A third row times the shop with the reference
shopper's exact law at every step (``reference_law=True``: what ``reward="likelihood"`` costs)
over an even sample of the sessions.

Timing: the passes run interleaved ``--repeats`` times and the fastest of each counts; every pass
starts cold (a new environment; for the shop, its world's view caches emptied; building the
world itself, once per process, is timed apart). All are single-threaded, so the default clock
is the process's CPU time (``--clock cpu``). Target: a shop step costs at most 3x an OPeRA-v0 step.

Usage::

    python benchmarks/shop_render.py                          # 6 users / 30 sessions, page_scale 1.0
    python benchmarks/shop_render.py --law-sessions 10 --out runs/shop_render.json
    python benchmarks/shop_render.py --quick                  # seconds: checks that it runs
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import CLOCKS, add_common_options, bench_store, even_sample, machine, markdown_table
from benchmarks._common import report, timed, verdict
from benchmarks.env_throughput import FULL, QUICK, run_env
from customer_env.command_line import CommandLineParser, non_negative_int, positive_int

TARGET_MAX_SHOP_RATIO = 3.0


def clear_view_caches() -> None:
    """Empty the shop world's caches of views and named elements (a cold pass)."""
    from customer_env.shop import world

    for cached in (world._search, world._product, world._core):  # noqa: SLF001 - the caches under measure
        cached.cache_clear()


def run_shop(shop_world: Any, session_ids: Sequence[str], budget: int, *, reference_law: bool = False) -> int:
    """Replay every session's recorded actions through the live shop; returns the steps taken."""
    from customer_env.actions import format_completion
    from customer_env.shop.env import OperaShopEnv
    from customer_env.synthetic.fork import action_of

    clear_view_caches()
    env = OperaShopEnv(world=shop_world, reference_law=reference_law, max_prompt_tokens=budget,
                       max_episode_steps=None)
    steps = 0
    for session_id in session_ids:
        env.reset(options={"session_id": session_id})
        for step in shop_world.sessions[session_id].sim.steps:
            _, _, terminated, truncated, info = env.step(format_completion(action_of(step.action), "Next."))
            steps += 1
            if info["effect"] == "invalid":
                raise RuntimeError(f"{session_id} step {steps}: the shop found the recorded action invalid")
            if terminated or truncated:
                break
    env.close()
    return steps


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print the table and return the results."""
    parser = CommandLineParser(description=__doc__.split("\n\n")[0])
    add_common_options(parser)
    parser.add_argument("--sessions", type=positive_int, default=None, help="replay this many sessions (even sample)")
    parser.add_argument("--law-sessions", type=non_negative_int, default=5,
                        help="sessions replayed with the reference law (even sample; 0: skip that row)")
    parser.add_argument("--budget", type=positive_int, default=None, help="prompt token budget (default: the env's)")
    parser.add_argument("--repeats", type=positive_int, default=3, help="interleaved passes; the fastest counts")
    parser.add_argument("--clock", default="cpu", choices=CLOCKS,
                        help="cpu: process CPU time (steady on a shared machine); wall: elapsed time")
    args = parser.parse_args(argv)
    from customer_env.data import open_store
    from customer_env.env import DEFAULT_MAX_PROMPT_TOKENS
    from customer_env.shop.world import ShopWorld

    budget = args.budget or DEFAULT_MAX_PROMPT_TOKENS
    sizes = QUICK if args.quick else FULL
    repeats = 1 if args.quick else max(1, args.repeats)
    store_dir = Path(args.store) if args.store else bench_store(args.store_root, test_fraction=0.0, **sizes)
    session_ids = even_sample(open_store(str(store_dir), split="train").session_ids, 2 if args.quick else args.sessions)
    shop_world, build_s = timed(lambda: ShopWorld.from_store(store_dir), args.clock)
    missing = [sid for sid in session_ids if sid not in shop_world.sessions]
    if missing:
        raise SystemExit(f"{store_dir}: {len(missing)} session(s) are not in the store's world, e.g. {missing[0]} "
                         "(not a synthetic store of this generator?)")
    law_ids = even_sample(session_ids, 1 if args.quick else args.law_sessions) if args.law_sessions else []

    replay_runs: list[float] = []
    shop_runs: list[float] = []
    law_runs: list[float] = []
    for _ in range(repeats):  # interleaved, so every path sees the same load on a shared machine
        replay_steps, seconds = timed(lambda: run_env(store_dir, "train", session_ids, budget), args.clock)
        replay_runs.append(seconds)
        shop_steps, seconds = timed(lambda: run_shop(shop_world, session_ids, budget), args.clock)
        shop_runs.append(seconds)
        if law_ids:
            law_steps, seconds = timed(lambda: run_shop(shop_world, law_ids, budget, reference_law=True), args.clock)
            law_runs.append(seconds)
    replay_ms = 1000 * min(replay_runs) / replay_steps
    shop_ms = 1000 * min(shop_runs) / shop_steps
    ratio = shop_ms / replay_ms
    rows = [["OPeRA-v0 step (reads, compresses and renders the recorded page)", replay_steps, round(replay_ms, 2),
             round(1000 / replay_ms, 1), "1.00"],
            ["OPeRA-Shop-v0 step (applies the action, writes, compresses and renders the page)", shop_steps,
             round(shop_ms, 2), round(1000 / shop_ms, 1), f"{ratio:.2f}x (shop / OPeRA-v0)"]]
    law_ms = None
    if law_ids:
        law_ms = 1000 * min(law_runs) / law_steps
        rows.append(["OPeRA-Shop-v0 step with the reference law (reward='likelihood')", law_steps,
                     round(law_ms, 2), round(1000 / law_ms, 1), f"{law_ms / replay_ms:.2f}x (shop+law / OPeRA-v0)"])
    met = {"shop_within_3x_opera_v0": ratio <= TARGET_MAX_SHOP_RATIO}
    results: dict[str, Any] = {
        "benchmark": "shop_render", "quick": args.quick, "machine": machine(), "store": str(store_dir),
        "sessions": len(session_ids), "budget_tokens": budget, "page_scale": shop_world.page_scale,
        "opera_v0_steps": replay_steps, "shop_steps": shop_steps, "opera_v0_ms_per_step": replay_ms,
        "shop_ms_per_step": shop_ms, "shop_over_opera_v0": ratio, "law_sessions": len(law_ids),
        "shop_with_law_ms_per_step": law_ms, "world_build_s": build_s, "repeats": repeats, "clock": args.clock,
        "opera_v0_pass_s": replay_runs, "shop_pass_s": shop_runs, "law_pass_s": law_runs, "targets_met": met,
    }
    notes = [
        f"{len(session_ids)} recorded sessions at page scale {shop_world.page_scale:g}, budget {budget} tokens; "
        f"OPeRA-v0 steps every recorded step, the shop stops an episode at its purchase or terminate "
        f"({shop_steps} of {replay_steps} steps); fastest of {repeats} interleaved passes, {args.clock} time; "
        f"building the shop's world (once per process) took {build_s:.2f} s.",
        f"Target: shop step <= {TARGET_MAX_SHOP_RATIO:g}x OPeRA-v0 step: "
        f"{verdict(met['shop_within_3x_opera_v0'], args.quick)} ({ratio:.2f}x).",
    ]
    header = ["path", "steps", "ms / step", "steps / s", "ratio"]
    title = "OPeRA-Shop-v0 page rendering against OPeRA-v0" + (" (quick run: small pages)" if args.quick else "")
    report(title, markdown_table(header, rows), results, args.out, notes)
    return results


if __name__ == "__main__":
    main()
