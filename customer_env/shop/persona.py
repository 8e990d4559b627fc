"""Who shops in the live shop: a user of the store, a survey, or persona text (as in OPeRA-v0).

The agent is shown a persona as OPeRA-v0 shows one (the store's user row, or the given survey or
text). The store's behaviour model (the episode's intent, the reference shopper) reads its
:class:`~customer_env.synthetic.personas.ShopperProfile` from the same persona:

* a user of the store: the profile the generator gave that user (read back from the survey);
* a survey in the store's shape (``Shopping Preference`` with the consumer-style and attitude
  answers): :func:`~customer_env.synthetic.personas.profile_from_survey`, exactly;
* any other survey, or persona text: every trait at the midpoint (0.5) and, as categories and
  brands, those of the store's that the persona names (all categories when it names none).
  ``ShopPersona.profile_source`` says which reading was used.

Example:
    >>> from customer_env.shop.world import ShopWorld
    >>> from customer_env.synthetic.fork import GenerationInputs
    >>> world = ShopWorld.build(GenerationInputs(seed=0, users=4, sessions=8))
    >>> who = resolve_persona(world, "I love Kitchora kitchen gadgets and hunt for deals.")
    >>> who.profile_source, who.profile.categories, who.profile.brands
    ('text', ('Kitchen',), ('Kitchora',))
    >>> resolve_persona(world, world.user_ids[0]).profile_source
    'user'
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from customer_env.constants import SURVEY_SECTIONS
from customer_env.data.persona import persona_from_survey
from customer_env.records import Persona
from customer_env.shop.world import ShopWorld
from customer_env.synthetic.catalogue import BRANDS, CATEGORIES
from customer_env.synthetic.personas import ShopperProfile, profile_from_survey

PersonaSpec = Any  # None | user id | survey dict | Persona | text
#: The trait value of a persona that does not state it.
NEUTRAL_TRAIT = 0.5
_TRAITS = ("price", "reviews", "brand_loyal", "impulsive", "perfectionist", "confused", "brand_conscious",
           "recreational", "novelty", "ad_trust", "delivery")


@dataclass(frozen=True)
class ShopPersona:
    """A resolved persona.

    Attributes:
        text: What the agent is shown (OPeRA-v0's persona text).
        profile: What the store's behaviour model reads.
        user_id: The store user, or None for a given survey or text.
        profile_source: ``user``, ``survey`` (read exactly from a store-shaped survey) or ``text``
            (the neutral reading, see the module docstring).
        location: Where things are delivered (the nav bar).
    """

    text: str
    profile: ShopperProfile
    user_id: str | None
    profile_source: str
    location: str

    @property
    def mode(self) -> str:
        """``real`` for a user of the store, ``custom`` otherwise (OPeRA-v0's ``persona_mode``)."""
        return "real" if self.user_id is not None else "custom"

    def profile_dict(self) -> dict[str, Any]:
        """The profile as JSON-ready data (:func:`profile_from_dict` reads it back)."""
        data = asdict(self.profile)
        data["categories"], data["brands"] = list(self.profile.categories), list(self.profile.brands)
        return data


def profile_from_dict(data: Mapping[str, Any]) -> ShopperProfile:
    """The profile :meth:`ShopPersona.profile_dict` wrote.

    Raises:
        ValueError: naming a missing or extra field.
    """
    expected = set(ShopperProfile.__dataclass_fields__)
    if set(data) != expected:
        raise ValueError(f"a persona profile needs exactly the fields {sorted(expected)}; "
                         f"missing {sorted(expected - set(data))}, extra {sorted(set(data) - expected)}")
    values = dict(data)
    values["categories"], values["brands"] = tuple(values["categories"]), tuple(values["brands"])
    return ShopperProfile(**values)


def resolve_persona(world: ShopWorld, persona: PersonaSpec) -> ShopPersona:
    """The persona of ``persona`` in ``world`` (None is not a persona: the environment draws a user).

    Raises:
        ValueError: A single word that is no user id, blank text, a dict that is no survey.
        TypeError: Anything else.
    """
    if isinstance(persona, str) and persona in world.users:
        user = world.users[persona]
        return ShopPersona(world.persona_text(persona), user.profile, persona, "user", world.location(persona))
    if isinstance(persona, Persona):
        return _from_survey_or_text(persona.to_text(), dict(persona.survey), world)
    if isinstance(persona, Mapping):
        if not any(section in persona for section in SURVEY_SECTIONS):
            raise ValueError(f"a persona dict must be survey-shaped, with at least one of the sections "
                             f"{list(SURVEY_SECTIONS)}; got keys {sorted(persona)[:8]}")
        return _from_survey_or_text(persona_from_survey("custom", persona).to_text(), dict(persona), world)
    if isinstance(persona, str):
        if not persona.strip() or len(persona.split()) == 1:
            raise ValueError(f"persona={persona!r} is not a user of this shop ({len(world.users)} users); pass "
                             "a user id, a survey dict or persona text (several words)")
        return _from_survey_or_text(persona.strip(), None, world)
    raise TypeError(f"persona must be None, a user id, a survey dict, a Persona or text; got {type(persona).__name__}")


def _from_survey_or_text(text: str, survey: dict[str, Any] | None, world: ShopWorld) -> ShopPersona:
    location = str(((survey or {}).get("Demographic Information") or {}).get("Location") or world.location(None))
    if survey is not None:
        try:
            return ShopPersona(text, profile_from_survey("custom", survey), None, "survey", location)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass  # not the store's survey shape: read it as text
    return ShopPersona(text, neutral_profile(text), None, "text", location)


def neutral_profile(text: str) -> ShopperProfile:
    """Every trait at :data:`NEUTRAL_TRAIT`; the store's categories and brands that ``text`` names.

    Example:
        >>> neutral_profile("Mostly Electronics from Voltix.").brands
        ('Voltix',)
    """
    words = set(re.findall(r"[a-z]+", text.lower()))
    categories = tuple(c for c in CATEGORIES if set(re.findall(r"[a-z]+", c.lower())) <= words) or CATEGORIES
    brands = tuple(b for c in CATEGORIES for b in BRANDS[c] if b.lower() in words)
    return ShopperProfile(user_id="custom", categories=categories, brands=brands,
                          **{trait: NEUTRAL_TRAIT for trait in _TRAITS})
