"""The words of a synthetic persona: demographics, habits, self description, interview.

``traits`` everywhere is the shopper's 1-5 answer per trait name (``price``, ``reviews``,
``impulsive``, ...). Texts are written in the first person, as survey answers are, and say what
the trait scores say, so a reader of the persona can infer the behaviour.

Example:
    >>> import random
    >>> traits = dict(price=5, reviews=2, brand_loyal=3, impulsive=2, perfectionist=3,
    ...               confused=3, brand_conscious=3, recreational=3, novelty=3, ad_trust=3,
    ...               delivery=3, seasonal=3)
    >>> "price" in self_description(random.Random(0), traits, ["Kitchen"]).lower()
    True
"""

from __future__ import annotations

import random
from typing import Any, Mapping

from customer_env.synthetic.seeds import clamp

_AGES = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_GENDERS = ("Female", "Male", "Non-binary")
_EDUCATION = ("High school", "Some college", "Bachelor's degree", "Master's degree", "Doctorate")
_JOBS = (
    "Software engineer",
    "Teacher",
    "Graduate student",
    "Nurse",
    "Retail associate",
    "Accountant",
    "Designer",
    "Researcher",
    "Sales manager",
    "Retired",
    "Homemaker",
    "Undergraduate student",
    "Marketing specialist",
    "Electrician",
)
_INCOME = (
    "Less than $25,000",
    "$25,000 - $49,999",
    "$50,000 - $74,999",
    "$75,000 - $99,999",
    "$100,000 - $149,999",
    "$150,000 or more",
)
_CITIES = (
    "Boston, MA",
    "Seattle, WA",
    "Austin, TX",
    "Chicago, IL",
    "San Diego, CA",
    "Columbus, OH",
    "Atlanta, GA",
    "Denver, CO",
    "Pittsburgh, PA",
    "Raleigh, NC",
    "Phoenix, AZ",
    "Minneapolis, MN",
    "Brooklyn, NY",
    "Portland, OR",
)

#: One first-person sentence per strong trait (score 4-5); used for the self description.
_HIGH = {
    "price": "I always compare prices and usually go for the cheapest option that does the job.",
    "reviews": "I never buy anything before reading the reviews, especially the critical ones.",
    "brand_loyal": "Once I find a brand I like, I stick with it and filter for it first.",
    "impulsive": "I tend to buy things quickly when something catches my eye.",
    "perfectionist": "I compare several products and options carefully until I find the best one.",
    "confused": "With so many choices I often look through many pages before deciding.",
    "brand_conscious": "I trust well-known brands more than unknown ones.",
    "recreational": "Browsing online stores is fun for me and I often just look around.",
    "novelty": "I like discovering new products and trying suggestions.",
}
_LOW = {
    "price": "Price is not the main thing I look at.",
    "reviews": "I rarely bother reading reviews.",
    "impulsive": "I only buy what I planned to buy.",
    "recreational": "I shop online to get things done, not for fun.",
}

_BIG_FIVE_LOADINGS = {
    "Openness": {"novelty": 0.35, "recreational": 0.1},
    "Conscientiousness": {"perfectionist": 0.3, "impulsive": -0.3},
    "Extraversion": {"recreational": 0.3, "impulsive": 0.15},
    "Agreeableness": {"ad_trust": 0.15},
    "Neuroticism": {"confused": 0.3},
}


def demographics(rng: random.Random) -> dict[str, Any]:
    return {
        "Age": rng.choice(_AGES),
        "Gender": rng.choice(_GENDERS) if rng.random() < 0.97 else "Prefer not to say",
        "Education": rng.choice(_EDUCATION),
        "Occupation": rng.choice(_JOBS),
        "Household income": rng.choice(_INCOME),
        "Location": rng.choice(_CITIES),
        "Household size": rng.randint(1, 5),
    }


def shopping_habits(rng: random.Random, traits: Mapping[str, int]) -> dict[str, Any]:
    frequent = traits["recreational"] + traits["impulsive"] >= 7
    return {
        "How often do you shop online": rng.choice(
            ("Several times a week", "About once a week")
            if frequent
            else ("A few times a month", "About once a month", "About once a week")
        ),
        "Monthly online shopping spend": rng.choice(
            ("$0-$50", "$50-$100", "$100-$200")
            if traits["price"] >= 4
            else ("$50-$100", "$100-$200", "$200-$500", "More than $500")
        ),
        "Amazon Prime member": "Yes" if rng.random() < 0.75 else "No",
        "Device used most for shopping": rng.choice(("Laptop", "Desktop", "Phone")),
    }


def _strong(traits: Mapping[str, int]) -> list[str]:
    ranked = sorted(_HIGH, key=lambda t: (-traits[t], list(_HIGH).index(t)))
    return [t for t in ranked if traits[t] >= 4]


def self_description(rng: random.Random, traits: Mapping[str, int], categories: list[str]) -> str:
    strong = _strong(traits)
    first = _HIGH[strong[0]] if strong else "I am a practical shopper who buys what I need."
    second_trait = strong[1] if len(strong) > 1 else None
    if second_trait is None:
        lows = [t for t in _LOW if traits[t] <= 2]
        second = _LOW[lows[0]] if lows else ""
    else:
        second = _HIGH[second_trait]
    cats = " and ".join(c.lower() for c in categories[:2])
    tail = f" Most of what I buy online is {cats}."
    return f"{first} {second}".strip() + (tail if not second else "")


def personality(rng: random.Random, traits: Mapping[str, int]) -> dict[str, Any]:
    scores: dict[str, Any] = {}
    for factor, loadings in _BIG_FIVE_LOADINGS.items():
        value = 3.0 + sum(w * (traits[t] - 3) for t, w in loadings.items()) + rng.gauss(0, 0.45)
        scores[factor] = round(clamp(value, 1.0, 5.0), 1)
    mbti = (
        ("E" if scores["Extraversion"] >= 3 else "I")
        + rng.choice("NS")
        + rng.choice("TF")
        + ("J" if scores["Conscientiousness"] >= 3 else "P")
    )
    scores["MBTI (self-reported)"] = mbti
    return scores


def interview(rng: random.Random, traits: Mapping[str, int], categories: list[str], brands: list[str]) -> str:
    strong = _strong(traits) or ["price"]
    lines = [
        "Interviewer: How do you usually start when you need something online?",
        f"Participant: I search for it directly. Lately it has mostly been {categories[0].lower()} things.",
        "Interviewer: What makes you decide on one product?",
        f"Participant: {_HIGH[strong[0]]}",
        "Interviewer: Any brands you go back to?",
        f"Participant: {', '.join(brands)}, mostly. "
        + ("I check those first." if traits["brand_loyal"] >= 4 else "But I am open to others."),
        "Interviewer: Do you ever leave without buying?",
        "Participant: "
        + (
            "Often, I like to look around first."
            if traits["recreational"] >= 4
            else "Sometimes, if nothing fits what I need."
        ),
    ]
    return "\n".join(lines)


def interview_summary(traits: Mapping[str, int], categories: list[str], brands: list[str]) -> str:
    strong = _strong(traits)
    style = ", ".join(t.replace("_", " ") for t in strong[:3]) or "balanced"
    return (
        f"The participant mostly shops for {', '.join(c.lower() for c in categories)}. "
        f"Dominant shopping traits: {style}. Preferred brands: {', '.join(brands)}. "
        + (
            "They often browse without buying."
            if traits["recreational"] >= 4
            else "They shop with a specific goal in mind."
        )
    )


def raw_survey(rng: random.Random, survey: Mapping[str, Any]) -> dict[str, str]:
    """The form export: every organised answer flattened to text, plus the 50 Big Five items."""
    raw: dict[str, str] = {}
    for answers in survey.values():
        for key, value in answers.items():
            if isinstance(value, Mapping):
                for item, score in value.items():
                    raw[item] = str(score)
            elif isinstance(value, list):
                raw[key] = ", ".join(value)
            else:
                raw[key] = str(value)
    factors = [k for k in _BIG_FIVE_LOADINGS]
    big_five = survey["Personality"]
    for i in range(50):
        factor = factors[i % 5]
        reverse = (i // 5) % 2 == 1
        centre = 6 - big_five[factor] if reverse else big_five[factor]
        raw[f"BF{i + 1:02d}_{factor[0]}{'_R' if reverse else ''}"] = str(
            int(clamp(round(centre + rng.gauss(0, 0.6)), 1, 5))
        )
    return raw
