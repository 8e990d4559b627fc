"""A recorded session of the store replayed through the live shop, step by step (the consistency check).

The shop and the generator model the same store, so feeding the shop a recorded session's actions
must reproduce the session's pages. :func:`replay_session` starts the shop at the session's start
(its user, up-front decisions, first page; the shop's two drawn page outcomes, home pages and the
page after an add to cart, taken from the recording) and applies each recorded action, comparing
the page the action lands on (:func:`customer_env.shop.state.locate`) with the page the recording
shows it was taken on: their named elements, and the whole view (every product listed, every
filter, option and cart line). It also checks the page each action leads to against the
recording's next page, where the recording shows it.

The filtered data records no back navigation and no Enter: after one, the recording's next action
is on a page the shop reaches only when it sees that action (state.py). One case stays ambiguous:
right after an unrecorded back, an action on an element that two reachable pages have (the nav
bar is on every page, the 4-star carousel on results and product pages) or with none (terminate)
lands on the current or latest of them in the shop, while the recording shows the page the
shopper went back to. Such steps are reported as
``ambiguous``, never as agreeing (``led_to_equal`` says whether the page they lead to is the
recording's all the same), and the steps after them until the two agree again are counted with them.

Example:
    >>> from customer_env.shop.world import ShopWorld
    >>> from customer_env.synthetic.fork import GenerationInputs
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> report = replay_session(world, sorted(world.sessions)[0])
    >>> report.disagreements
    0
"""

from __future__ import annotations

from dataclasses import dataclass, field

from customer_env.shop.episodes import recorded_start
from customer_env.shop.state import ShopState, locate
from customer_env.shop.transitions import apply_action
from customer_env.shop.world import ShopWorld
from customer_env.synthetic.fork import action_of


@dataclass(frozen=True)
class StepCheck:
    """One replayed step.

    Attributes:
        index: The step.
        names_equal: The named elements of the page the action landed on equal the recorded page's.
        view_equal: The whole view equals the recorded one.
        ambiguous: A nav-bar action or terminate after an unrecorded move (module docstring), or a
            step after one before the shop and the recording agree again.
        effect: What the action did in the shop.
        led_to_equal: The page the action led to is the recording's (None: the recording does
            not show it, e.g. after a purchase or terminate).
    """

    index: int
    names_equal: bool
    view_equal: bool
    ambiguous: bool
    effect: str
    led_to_equal: bool | None = None


@dataclass
class ReplayReport:
    """The steps of one replayed session."""

    session_id: str
    steps: list[StepCheck] = field(default_factory=list)

    @property
    def agreeing(self) -> int:
        return sum(s.names_equal and s.view_equal for s in self.steps)

    @property
    def ambiguous(self) -> int:
        return sum(s.ambiguous for s in self.steps)

    @property
    def disagreements(self) -> int:
        """Steps that disagree and are not ambiguous (0 when the shop and the generator agree)."""
        return sum(not (s.names_equal and s.view_equal) and not s.ambiguous for s in self.steps)


def replay_session(world: ShopWorld, session_id: str) -> ReplayReport:
    """Replay ``session_id`` of ``world`` through the shop (module docstring)."""
    start = recorded_start(world, session_id)
    steps = world.sessions[session_id].sim.steps
    state = ShopState(page=start.visit.first_page, cart=start.visit.start.cart, intent=start.visit.start.intent)
    report = ReplayReport(session_id)
    unsettled = False  # an ambiguous step happened and the shop has not caught up with the recording
    for index, step in enumerate(steps):
        action = action_of(step.action)
        landed = locate(world, state, action).page
        if state.ended is not None or landed is None:
            report.steps.append(StepCheck(index, False, False, False, "invalid"))
            break
        moved_unrecorded = state.page != step.view  # the recording went back or pressed Enter
        name = (action.name or "").strip()
        reachable = [state.page, *state.back] + ([world.search(state.typed, state.cart)] if state.typed else [])
        # The shop had two pages to choose from: the element is on the one it chose, and on the
        # one the recording shows, which the shop could have reached too.
        two_pages = action.type == "terminate" or (name in world.names(landed) and step.view in reachable
                                                   and name in world.names(step.view))
        names_equal = world.names(landed) == world.names(step.view)
        view_equal = landed == step.view
        if names_equal and view_equal:
            unsettled = False
        ambiguous = not (names_equal and view_equal) and (unsettled or (moved_unrecorded and two_pages))
        unsettled = ambiguous
        transition = apply_action(world, start.draws, state, action)
        after = transition.state
        # A typed search is submitted by the button or, when the next action lands on its
        # results, by Enter: either page is where the typing led.
        led = [after.page] + ([world.search(after.typed, after.cart)] if after.typed is not None else [])
        led_to = None if step.after is None or after.ended else step.after in led
        report.steps.append(StepCheck(index, names_equal, view_equal, ambiguous, transition.effect, led_to))
        state = transition.state
    return report
