"""The interface, the registry and the model-free agents, on hand-built training data."""

from __future__ import annotations

import json

import pytest

import agents
from agents import registry
from agents.base import Agent, BaseAgent, act_many, reset_agent
from agents.baselines import FrequencyAgent, PersonaFrequencyAgent, RandomAgent, page_names
from customer_env.actions import parse_completion
from customer_env.records import Action, Persona, Session, Step, User


class FakeStore:
    """Just what the frequency agents read: users, sessions, split, fingerprint."""

    split, fingerprint = "train", "fake"

    def __init__(self, sessions_by_user):
        self.users = {u: User(u, Persona(u, self_description=f"I am shopper {u}.")) for u in sessions_by_user}
        self._sessions = {}
        for user, sessions in sessions_by_user.items():
            for k, actions in enumerate(sessions):
                sid = f"{user}_s{k}"
                steps = tuple(Step(sid, f"a{i}", i, f"t{i}", a) for i, a in enumerate(actions))
                self._sessions[sid] = Session(sid, user, steps)
        self.session_ids = sorted(self._sessions)

    def session(self, sid):
        return self._sessions[sid]

    def iter_sessions(self):
        return (self._sessions[s] for s in self.session_ids)


REVIEW = Action("click", "reviews", click_type="review")
SEARCH = Action("click", "nav_bar.search_button", click_type="search")
BUY = Action("click", "buybox.add_to_cart", click_type="purchase")
TYPE = Action("input", "nav_bar.search_input", text="mug")
END = Action("terminate")


def obs(*names, persona=""):
    return {"persona": persona, "history": "", "url": "u", "page": "", "actionable_names": "\n".join(names)}


def action_of(text):
    parsed = parse_completion(text)
    assert parsed.format_ok, text
    return parsed.action


def test_registry_make_register_available(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    assert {"random", "frequency", "persona_frequency", "markov", "persona_markov", "prompting", "sft",
            "customer_r1"} <= set(agents.available())
    with pytest.raises(KeyError, match="unknown agent 'nope'; available: .*random"):
        agents.make("nope")
    agents.register("mine", lambda **kw: RandomAgent(**kw))
    assert isinstance(agents.make("mine", seed=3), RandomAgent)
    with pytest.raises(ValueError, match="already registered"):
        agents.register("mine", RandomAgent)
    agents.register("mine", FrequencyAgent, overwrite=True)
    with pytest.raises(TypeError, match="callable"):
        agents.register("bad", "not a factory")


def test_protocol_and_optional_methods():
    class ActOnly:
        def act(self, observation):
            return '{"rationale": "", "action": {"type": "terminate"}}'

    class CountsResets(BaseAgent):
        def __init__(self):
            self.infos = []

        def act(self, observation):
            return "x"

        def reset(self, info=None):
            self.infos.append(info)

    class PlainReset:
        resets = 0

        def act(self, observation):
            return "x"

        def reset(self):
            self.resets += 1

    assert isinstance(ActOnly(), Agent) and not isinstance(object(), Agent)
    assert act_many(ActOnly(), [obs(), obs()]) == ['{"rationale": "", "action": {"type": "terminate"}}'] * 2
    counting, plain = CountsResets(), PlainReset()
    reset_agent(counting, {"session_id": "s"}), reset_agent(plain, {"session_id": "s"}), reset_agent(ActOnly(), {})
    assert counting.infos == [{"session_id": "s"}] and plain.resets == 1

    class Wrong(BaseAgent):
        def act(self, observation):
            return {"type": "terminate"}

    with pytest.raises(TypeError, match="expected the wire JSON str"):
        act_many(Wrong(), [obs()])


def test_page_names_drop_blanks_and_repeats():
    assert page_names(obs("a", "", " b ", "a")) == ["a", "b"]


def test_random_agent_is_valid_seeded_and_covers_every_kind():
    names = ("nav_bar.search_input", "reviews", "pagination.2")
    agent = RandomAgent(seed=0, input_texts=["mug"])
    seen = set()
    for i in range(60):
        observation = obs(*names, persona=f"p{i}")
        text = agent.act(observation)
        assert text == RandomAgent(seed=0, input_texts=["mug"]).act(observation)
        action = action_of(text)
        assert parse_completion(text, valid_names=names).ok
        seen.add((action.type, action.name))
        if action.type == "input":
            assert action.name == "nav_bar.search_input" and action.text == "mug"
    assert {t for t, _ in seen} == {"click", "input", "terminate"} and len(seen) == 5
    many = [obs(*names, persona=f"p{i}") for i in range(20)]
    assert agent.act_batch(many) != RandomAgent(seed=1).act_batch(many)
    assert action_of(agent.act(obs())).type == "terminate"


@pytest.fixture
def store():
    return FakeStore({
        "u1": [[REVIEW, REVIEW, SEARCH, BUY], [REVIEW, SEARCH, END]],   # reviews first
        "u2": [[TYPE, TYPE, TYPE, BUY, BUY, END]],                       # types, then buys
        "u3": [[BUY, Action("click", "cart.add_to_cart", click_type="purchase")]],  # only ever buys
    })


def test_frequency_maps_the_most_common_click_type_onto_the_page(store):
    agent = FrequencyAgent(store=store)
    # Training: click 10 of 15 steps; purchase 5, review 3, search 2.
    assert action_of(agent.act(obs("reviews", "buybox.add_to_cart", "nav_bar.search_button"))).name == \
        "buybox.add_to_cart"
    assert action_of(agent.act(obs("nav_bar.search_button", "reviews"))).name == "reviews"
    # No purchase or review element: the next click type present (search).
    assert action_of(agent.act(obs("x.unknown", "nav_bar.search_button"))).name == "nav_bar.search_button"
    # An unseen element labelled by its name pattern (last segment "add_to_cart" -> purchase).
    assert action_of(agent.act(obs("other.add_to_cart", "zzz"))).name == "other.add_to_cart"
    # Nothing on the page: terminate.
    assert action_of(agent.act(obs())).type == "terminate"
    assert agent.describe()["train_steps"] == 15


def test_frequency_input_uses_the_most_common_text():
    store = FakeStore({"u": [[TYPE, TYPE, Action("input", "nav_bar.search_input", text="tea"), TYPE, END]]})
    action = action_of(FrequencyAgent(store=store).act(obs("reviews", "nav_bar.search_input")))
    assert (action.type, action.name, action.text) == ("input", "nav_bar.search_input", "mug")
    # No input element: the next most common type that applies (terminate).
    assert action_of(FrequencyAgent(store=store).act(obs("reviews"))).type == "terminate"


def test_persona_frequency_follows_the_shown_persona(store):
    agent = PersonaFrequencyAgent(store=store)
    page = ("nav_bar.search_input", "reviews", "buybox.add_to_cart")
    u1 = store.users["u1"].persona.to_text()
    u2 = store.users["u2"].persona.to_text()
    assert action_of(agent.act(obs(*page, persona=u1))).name == "reviews"
    typed = action_of(agent.act(obs(*page, persona="  " + u2.replace(" ", "\n", 1))))  # whitespace-insensitive
    assert (typed.type, typed.text) == ("input", "mug")
    # No persona (the "none" ablation): the global statistics, i.e. the frequency agent.
    assert agent.act(obs(*page)) == FrequencyAgent(store=store).act(obs(*page))
    assert agent.matched_users == {"u1": 1, "u2": 1} and agent.unmatched_personas == 1
    # The user's most common action that applies wins, even terminate ...
    assert action_of(agent.act(obs("nav_bar.search_button", persona=u2))).type == "terminate"
    # ... and where none of the user's actions applies, the global statistics decide.
    u3 = store.users["u3"].persona.to_text()
    assert action_of(agent.act(obs("nav_bar.search_button", persona=u3))).name == "nav_bar.search_button"


def test_agents_answer_in_the_wire_format(store):
    from agents.baselines import MarkovAgent, PersonaMarkovAgent

    for agent in (RandomAgent(), FrequencyAgent(store=store), PersonaFrequencyAgent(store=store),
                  MarkovAgent(store=store), PersonaMarkovAgent(store=store)):
        payload = json.loads(agent.act(obs("reviews")))
        assert set(payload) == {"rationale", "action"} and payload["rationale"]


# ---- markov ------------------------------------------------------------------------------------

HOME, RESULTS, PRODUCT = "https://www.amazon.com/", "https://www.amazon.com/s?k=mug", "https://www.amazon.com/Red-Mug/dp/B0X1"


def session_with_urls(sid, user, pairs):
    steps = tuple(Step(sid, f"a{i}", i, f"t{i}", a, url=u) for i, (u, a) in enumerate(pairs))
    return Session(sid, user, steps)


class UrlStore(FakeStore):
    """Sessions given as (url, action) pairs, so the page kind of every step is known."""

    def __init__(self, sessions_by_user):
        super().__init__({u: [] for u in sessions_by_user})
        for user, sessions in sessions_by_user.items():
            for k, pairs in enumerate(sessions):
                sid = f"{user}_s{k}"
                self._sessions[sid] = session_with_urls(sid, user, pairs)
        self.session_ids = sorted(self._sessions)


def history(*actions):
    lines = [f"Step {i + 1}: {json.dumps(a.to_wire())}" for i, a in enumerate(actions)]
    return "\n".join(lines)


def page_obs(url, names, previous=(), persona=""):
    return {"persona": persona, "history": history(*previous), "url": url, "page": "",
            "actionable_names": "\n".join(names)}


def test_page_kind_reads_amazon_url_paths():
    from agents.baselines import page_kind

    assert page_kind("https://www.amazon.com/?URL_MASKED") == "home"
    assert page_kind("https://www.amazon.com/s?URL_MASKED") == "search"
    assert page_kind("https://www.amazon.com/Sonora-Speaker/dp/B0EAZQ0KFH?URL_MASKED") == "product"
    assert page_kind("https://www.amazon.com/Sonora-Speaker/product-reviews/B0EAZQ0KFH?x") == "reviews"
    assert page_kind("https://www.amazon.com/gp/cart/view.html?ref=x") == "cart"
    assert page_kind("https://www.amazon.com/cart/smart-wagon?x") == "cart"
    assert page_kind("https://www.amazon.com/gp/buy/spc/handlers/display.html") == "checkout"
    assert page_kind("https://www.amazon.com/stores/page/X") == "other" and page_kind("") == "other"


def test_previous_action_is_the_last_step_line_of_the_history():
    from agents.baselines import previous_action

    assert previous_action({"history": ""}) is None
    text = ("(The pages seen before steps 1-1 are omitted to fit the context; their actions are listed.)\n"
            + history(TYPE) + "\nPage before step 2 (URL: u):\n<a name=\"x\"/>\n"
            + f"Step 2: {json.dumps(REVIEW.to_wire())} | Rationale: I want to read what others say.")
    assert previous_action({"history": text}) == Action("click", "reviews")
    assert previous_action({"history": history(TYPE)}) == Action("input", "nav_bar.search_input", "mug")
    assert previous_action({"history": "Step 1: {not json}"}) is None


def test_markov_uses_the_page_kind_and_the_previous_action():
    from agents.baselines import MarkovAgent

    title = "search_result.red_mug.product_title"
    store = UrlStore({"u": [
        [(HOME, SEARCH), (RESULTS, Action("click", title, click_type="product_link")), (PRODUCT, REVIEW),
         (PRODUCT, BUY)],
        [(HOME, SEARCH), (RESULTS, Action("click", "search_result.blue_mug.product_title",
                                          click_type="product_link")), (PRODUCT, REVIEW), (PRODUCT, BUY)],
        [(PRODUCT, REVIEW), (PRODUCT, END)],
    ]})
    agent = MarkovAgent(store=store)
    product_page = ("reviews", "buybox.add_to_cart", "nav_bar.search_button")
    # After opening a product from the results: reviews; after the reviews: buy (2 of 3 times).
    assert action_of(agent.act(page_obs(PRODUCT, product_page, [SEARCH, Action("click", title)]))).name == "reviews"
    assert action_of(agent.act(page_obs(PRODUCT, product_page, [SEARCH, REVIEW]))).name == "buybox.add_to_cart"
    # The frequency agent knows no context: it clicks the most common click type (review) in both.
    assert action_of(FrequencyAgent(store=store).act(page_obs(PRODUCT, product_page, [REVIEW]))).name == "reviews"
    # A results page with products never seen in training: the pattern maps onto the first card.
    results = ("nav_bar.search_input", "search_result.green_mug.product_title", "search_result.tea_cup.product_title")
    assert action_of(agent.act(page_obs(RESULTS, results, [SEARCH]))).name == "search_result.green_mug.product_title"
    # An unseen context backs off to the previous action's type, then to the frequency rule.
    assert action_of(agent.act(page_obs(HOME, ("nav_bar.search_button",), [TYPE]))).name == "nav_bar.search_button"
    assert agent.backed_off == 1 and agent.describe()["markov_steps"] == 10


def test_persona_markov_weights_in_the_shown_users_habits():
    from agents.baselines import MarkovAgent, PersonaMarkovAgent

    page = ("reviews", "buybox.add_to_cart")
    store = UrlStore({
        "u1": [[(PRODUCT, REVIEW), (PRODUCT, BUY)]] * 3,
        "u2": [[(PRODUCT, REVIEW), (PRODUCT, REVIEW)]],
    })
    agent = PersonaMarkovAgent(store=store, personal_weight=5.0)
    u2 = store.users["u2"].persona.to_text()
    # Globally a review is followed by a purchase 3 times to 1; for u2 (weight 5) by a review.
    assert action_of(agent.act(page_obs(PRODUCT, page, [REVIEW], persona=u2))).name == "reviews"
    assert action_of(MarkovAgent(store=store).act(page_obs(PRODUCT, page, [REVIEW]))).name == "buybox.add_to_cart"
    # No persona or an unknown one: exactly the markov agent.
    assert agent.act(page_obs(PRODUCT, page, [REVIEW])) == MarkovAgent(store=store).act(page_obs(PRODUCT, page, [REVIEW]))
    assert agent.describe()["matched_steps"] == 1 and agent.describe()["unmatched_steps"] == 1
