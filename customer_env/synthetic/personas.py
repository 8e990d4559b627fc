"""Synthetic shoppers: OPeRA-shaped survey personas and the behaviour profile read from them.

Each user mixes a main shopper archetype (bargain hunter, review researcher, brand loyalist,
impulse buyer, recreational browser, mission shopper; the users of a store cycle through them, so
every population has the same mix) with a weaker second one. The archetypes only shape
the *survey answers*; the behaviour model then reads its parameters back from those answers
(:func:`profile_from_survey`), so everything that drives behaviour is visible in the persona a
model is given.

Example:
    >>> users = generate_users(0, 3)
    >>> sorted(users[0].survey)
    ['Demographic Information', 'Personality', 'Self Description', 'Shopping Preference']
    >>> 0.0 <= users[0].profile.price <= 1.0
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Mapping

from customer_env.synthetic import persona_text as text
from customer_env.synthetic.catalogue import BRANDS, CATEGORIES
from customer_env.synthetic.seeds import clamp, derive_rng, uuid_from

SHOPPING = "Shopping Preference"
CSI_KEY = "Consumer Style Inventory (1 = strongly disagree, 5 = strongly agree)"
LIKERT_KEY = "Shopping Attitudes (1 = strongly disagree, 5 = strongly agree)"
CATEGORIES_KEY = "Product categories you buy most often"
BRANDS_KEY = "Brands you buy again and again"

#: The eight consumer-style items; the trait each one sets in :class:`ShopperProfile`.
CSI_ITEMS = {
    "Brand loyalty: I have favourite brands I buy over and over": "brand_loyal",
    "Price consciousness: I buy as much as possible at sale or low prices": "price",
    "Perfectionism: getting the very best quality is important to me": "perfectionist",
    "Impulsiveness: I often make purchases I had not planned": "impulsive",
    "Confusion by over-choice: there are so many brands to choose from that I feel confused": "confused",
    "Brand consciousness: well-known national brands are best for me": "brand_conscious",
    "Recreational shopping: shopping is a fun and pleasant activity for me": "recreational",
    "Novelty seeking: I like to try new and different products": "novelty",
}
LIKERT_ITEMS = {
    "I read customer reviews carefully before I buy": "reviews",
    "I trust online advertisements and sponsored products": "ad_trust",
    "Fast and free delivery strongly affects what I buy": "delivery",
    "I shop more during holidays and seasonal sales": "seasonal",
}

ARCHETYPES: dict[str, dict[str, float]] = {
    "bargain_hunter": {"price": 1.8, "confused": 0.6, "impulsive": -0.8, "reviews": 0.4},
    "review_researcher": {"reviews": 1.8, "perfectionist": 1.4, "impulsive": -1.2, "confused": 0.5},
    "brand_loyalist": {"brand_loyal": 1.9, "brand_conscious": 1.2, "novelty": -1.0},
    "impulse_buyer": {"impulsive": 1.9, "recreational": 0.8, "reviews": -1.2, "price": -0.6},
    "recreational_browser": {"recreational": 1.8, "novelty": 1.5, "ad_trust": 0.8, "impulsive": 0.2},
    "mission_shopper": {"perfectionist": 0.3, "confused": -1.4, "recreational": -1.4, "delivery": 1.4},
}
_WINDOWS = ((1920, 1080), (1536, 864), (1440, 900), (1366, 768), (2560, 1440), (1680, 1050), (1280, 800))


@dataclass(frozen=True)
class ShopperProfile:
    """Behaviour parameters of one shopper, each in [0, 1] (from 1-5 survey answers)."""

    user_id: str
    price: float
    reviews: float
    brand_loyal: float
    impulsive: float
    perfectionist: float
    confused: float
    brand_conscious: float
    recreational: float
    novelty: float
    ad_trust: float
    delivery: float
    categories: tuple[str, ...]
    brands: tuple[str, ...]


@dataclass(frozen=True)
class SyntheticUser:
    """A user-table row (before JSON encoding), its profile and browser windows."""

    user_id: str
    survey: dict[str, Any]
    raw_survey: dict[str, Any]
    interview_transcript: str
    interview_summary: str
    profile: ShopperProfile
    windows: tuple[tuple[int, int], ...]
    activity: float


def profile_from_survey(user_id: str, survey: Mapping[str, Any]) -> ShopperProfile:
    """Read the behaviour parameters back from a survey written by :func:`generate_users`."""
    shopping = survey[SHOPPING]
    scores: dict[str, float] = {}
    for section, items in ((CSI_KEY, CSI_ITEMS), (LIKERT_KEY, LIKERT_ITEMS)):
        for item, trait in items.items():
            scores[trait] = (float(shopping[section][item]) - 1.0) / 4.0
    scores.pop("seasonal")
    return ShopperProfile(
        user_id=user_id,
        categories=tuple(shopping[CATEGORIES_KEY]),
        brands=tuple(shopping[BRANDS_KEY]),
        **scores,
    )


def _likert(rng: random.Random, bump: float) -> int:
    return int(clamp(round(3.0 + bump + rng.gauss(0.0, 0.75)), 1, 5))


def primary_archetype(seed: int, index: int) -> str:
    """The main archetype of user ``index``: users cycle through the archetypes from a seeded start.

    Stratified rather than drawn so that every store's population has the same mix (50 users: 8
    or 9 of each archetype); drawn, the number of review researchers alone moved a store's review
    click share by several points from seed to seed.
    """
    kinds = sorted(ARCHETYPES)
    return kinds[(index + derive_rng(seed, "archetypes").randrange(len(kinds))) % len(kinds)]


def _user(seed: int, index: int) -> SyntheticUser:
    rng = derive_rng(seed, "user", index)
    user_id = uuid_from(rng)
    primary = primary_archetype(seed, index)
    secondary = rng.choice([k for k in sorted(ARCHETYPES) if k != primary])
    bumps: dict[str, float] = {}
    for name, weight in ((primary, 1.0), (secondary, 0.35)):
        for trait, value in ARCHETYPES[name].items():
            bumps[trait] = bumps.get(trait, 0.0) + weight * value
    csi = {item: _likert(rng, bumps.get(trait, 0.0)) for item, trait in CSI_ITEMS.items()}
    likert = {item: _likert(rng, bumps.get(trait, 0.0)) for item, trait in LIKERT_ITEMS.items()}
    categories = rng.sample(CATEGORIES, rng.randint(2, 3))
    brand_pool = [b for c in categories for b in BRANDS[c]]
    brands = rng.sample(brand_pool, rng.randint(1, 3))
    traits = {trait: csi[item] for item, trait in CSI_ITEMS.items()}
    traits.update({trait: likert[item] for item, trait in LIKERT_ITEMS.items()})
    demographics = text.demographics(rng)
    survey = {
        "Demographic Information": demographics,
        SHOPPING: {
            **text.shopping_habits(rng, traits),
            CATEGORIES_KEY: categories,
            BRANDS_KEY: brands,
            LIKERT_KEY: likert,
            CSI_KEY: csi,
        },
        "Self Description": {"Two sentence description": text.self_description(rng, traits, categories)},
        "Personality": text.personality(rng, traits),
    }
    has_interview = rng.random() < 0.4
    transcript = text.interview(rng, traits, categories, brands) if has_interview else ""
    summary = text.interview_summary(traits, categories, brands) if has_interview else ""
    width, height = rng.choice(_WINDOWS)
    windows = tuple((width, height - rng.choice((120, 146, 160, 185))) for _ in range(rng.randint(1, 3)))
    return SyntheticUser(
        user_id=user_id,
        survey=survey,
        raw_survey=text.raw_survey(rng, survey),
        interview_transcript=transcript,
        interview_summary=summary,
        profile=profile_from_survey(user_id, survey),
        windows=windows,
        activity=rng.lognormvariate(0.0, 0.5),
    )


def generate_users(seed: int, count: int) -> list[SyntheticUser]:
    """``count`` users; user ``i`` depends only on ``(seed, i)``."""
    if count < 1:
        raise ValueError(f"need at least one user, got {count}")
    return [_user(seed, i) for i in range(count)]
