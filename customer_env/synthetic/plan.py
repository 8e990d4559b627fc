"""The store plan: who shops when, every session simulated, ids and timestamps, the split.

Nothing here renders pages, so a plan is cheap (well under a second for the default store) and
identical at every page scale. Split (as in OPeRA): by session, about ``test_fraction`` of the
sessions go to test, held by about 30% of the users, a fifth of whom appear only in test; or,
with ``user_disjoint``, whole users go to test.

Example:
    >>> plan = build_plan(seed=0, users=4, sessions=12)
    >>> sum(s.split == "test" for s in plan.sessions) >= 1
    True
    >>> plan.sessions[0].session_id.startswith(plan.sessions[0].user.user_id + "_2025-")
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from customer_env.synthetic.behaviour import SimSession, simulate_session
from customer_env.synthetic.catalogue import build_catalogue
from customer_env.synthetic.personas import SyntheticUser, generate_users
from customer_env.synthetic.seeds import derive_rng, uuid_from

#: The share of sessions in the test split unless told otherwise.
DEFAULT_TEST_FRACTION = 0.17
#: Sessions start between these instants (milliseconds since the epoch, UTC), as in OPeRA.
WINDOW_START_MS = int(datetime(2025, 3, 24, 21, 0, tzinfo=timezone.utc).timestamp() * 1000)
WINDOW_END_MS = int(datetime(2025, 5, 7, 23, 0, tzinfo=timezone.utc).timestamp() * 1000)


@dataclass(frozen=True)
class PlannedSession:
    """A simulated session with its identity: ids, per-step times (ms), split, window."""

    index: int
    user: SyntheticUser
    sim: SimSession
    session_id: str
    step_ms: tuple[int, ...]
    action_ids: tuple[str, ...]
    split: str
    window: tuple[int, int]


@dataclass(frozen=True)
class StorePlan:
    seed: int
    users: tuple[SyntheticUser, ...]
    sessions: tuple[PlannedSession, ...]


def iso_ms(ms: int) -> str:
    """``2025-04-14T21:52:57.792Z``: the action timestamp format."""
    t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_us(ms: int) -> str:
    """``2025-04-14T21:52:46.756000Z``: the format of the times inside a session id."""
    return iso_ms(ms)[:-1] + "000Z"


def _assign_users(seed: int, users: list[SyntheticUser], sessions: int) -> list[int]:
    rng = derive_rng(seed, "assign")
    owners = list(range(len(users)))
    weights = [u.activity for u in users]
    owners += rng.choices(range(len(users)), weights, k=sessions - len(users))
    rng.shuffle(owners)
    return owners


def _times(seed: int, index: int, sim: SimSession) -> tuple[int, tuple[int, ...], int]:
    rng = derive_rng(seed, "time", index)
    start = WINDOW_START_MS + int(rng.random() * (WINDOW_END_MS - WINDOW_START_MS))
    t = start + int(rng.uniform(0.3, 20.0) * 1000)
    steps = []
    for step in sim.steps:
        t += max(1, int(step.dwell * 1000)) if steps else 0
        steps.append(t)
    end = t + int(rng.uniform(0.5, 30.0) * 1000)
    return start, tuple(steps), end


def _split(
    seed: int, owners: list[int], n_users: int, test_fraction: float, user_disjoint: bool
) -> list[str]:
    rng = derive_rng(seed, "split")
    n_sessions = len(owners)
    target = max(1, round(test_fraction * n_sessions)) if test_fraction > 0 else 0
    by_user: dict[int, list[int]] = {}
    for i, u in enumerate(owners):
        by_user.setdefault(u, []).append(i)
    order = sorted(by_user)
    rng.shuffle(order)
    test: set[int] = set()
    if user_disjoint:
        for u in order:
            if len(test) >= target or len(test) + len(by_user[u]) > n_sessions - 1:
                continue
            test.update(by_user[u])
    elif target:
        n_test_users = min(len(order), max(1, round(0.3 * n_users)))
        n_only = max(0, round(0.2 * n_test_users))
        # Test-only users are light users (their sessions fit the budget); shared users need
        # at least two sessions so that one can stay in train.
        only_test = [u for u in order if len(by_user[u]) <= max(1, target // (4 * max(1, n_only)))][:n_only]
        for u in only_test:
            test.update(by_user[u])
        shared = [u for u in order if u not in only_test and len(by_user[u]) > 1][
            : n_test_users - len(only_test)
        ]
        while len(test) < target:
            progressed = False
            for u in shared:  # the latest sessions of each shared user, one at a time
                remaining = [i for i in by_user[u] if i not in test]
                if len(remaining) > 1 and len(test) < target:
                    test.add(remaining[-1])
                    progressed = True
            if not progressed:
                break
    return ["test" if i in test else "train" for i in range(n_sessions)]


def build_plan(
    seed: int = 0,
    users: int = 50,
    sessions: int = 500,
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    user_disjoint: bool = False,
) -> StorePlan:
    """Simulate every session of a store and give each its user, ids, times and split."""
    if sessions < users:
        raise ValueError(f"need at least one session per user: sessions={sessions} < users={users}")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    people = generate_users(seed, users)
    catalogue = build_catalogue(seed)
    owners = _assign_users(seed, people, sessions)
    sims = [simulate_session(people[u].profile, catalogue, seed=seed, index=i) for i, u in enumerate(owners)]
    # A user's sessions never overlap: later ones are pushed past the end of earlier ones.
    times = {i: _times(seed, i, sims[i]) for i in range(sessions)}
    free_from = [WINDOW_START_MS] * users
    for i in sorted(range(sessions), key=lambda i: (times[i][0], i)):
        start, steps, end = times[i]
        shift = max(0, free_from[owners[i]] - start)
        times[i] = (start + shift, tuple(s + shift for s in steps), end + shift)
        free_from[owners[i]] = end + shift + 60_000
    splits = _split(seed, owners, users, test_fraction, user_disjoint)
    planned = []
    for i, u in enumerate(owners):
        user = people[u]
        start, steps, end = times[i]
        rng = derive_rng(seed, "ids", i)
        planned.append(
            PlannedSession(
                index=i,
                user=user,
                sim=sims[i],
                session_id=f"{user.user_id}_{iso_us(start)}_{iso_us(end)}",
                step_ms=steps,
                action_ids=tuple(uuid_from(rng) for _ in steps),
                split=splits[i],
                window=user.windows[int(rng.random() * len(user.windows))],
            )
        )
    return StorePlan(seed=seed, users=tuple(people), sessions=tuple(planned))


def split_counts(plan: StorePlan) -> dict[str, int]:
    """Sessions and users per split, and users that appear in both."""
    users = {s: {p.user.user_id for p in plan.sessions if p.split == s} for s in ("train", "test")}
    return {
        "train_sessions": sum(p.split == "train" for p in plan.sessions),
        "test_sessions": sum(p.split == "test" for p in plan.sessions),
        "train_users": len(users["train"]),
        "test_users": len(users["test"]),
        "shared_users": len(users["train"] & users["test"]),
    }
