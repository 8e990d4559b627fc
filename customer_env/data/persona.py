"""Survey JSON -> :class:`~customer_env.records.Persona`.

The user table's ``survey`` is an object with the sections ``Demographic Information``,
``Shopping Preference``, ``Self Description`` (whose ``Two sentence description`` is the
shopper's own summary) and ``Personality`` (Big Five scores, MBTI, ...). A section that is absent
stays empty; sections we do not model are kept in ``Persona.survey`` so nothing is lost.

Example:
    >>> p = persona_from_survey("u1", {
    ...     "Demographic Information": {"Age": "25-34"},
    ...     "Self Description": {"Two sentence description": "I compare prices."},
    ... }, interview_summary="Buys in bulk.")
    >>> p.self_description, p.demographics["Age"], p.interview_summary
    ('I compare prices.', '25-34', 'Buys in bulk.')
"""

from __future__ import annotations

from typing import Any, Mapping

from customer_env.data.errors import DataError
from customer_env.records import Persona

DEMOGRAPHICS = "Demographic Information"
SHOPPING_PREFERENCE = "Shopping Preference"
SELF_DESCRIPTION = "Self Description"
PERSONALITY = "Personality"
TWO_SENTENCE_KEY = "Two sentence description"


def persona_from_survey(
    user_id: str, survey: Any, interview_summary: str | None = None
) -> Persona:
    """Build the persona of one user from their decoded survey.

    Args:
        user_id: The user's id.
        survey: The decoded ``survey`` JSON (must be an object).
        interview_summary: ``interview_transcript_processed``; blank text counts as absent.

    Returns:
        The persona; the whole survey is kept in ``Persona.survey``.

    Raises:
        DataError: (reason ``invalid_survey``) if the survey or one of its modelled sections has
            the wrong shape. The caller adds the file and row.
    """
    if not isinstance(survey, Mapping):
        raise DataError(
            f"survey must be a JSON object, got {type(survey).__name__}",
            field="survey",
            reason="invalid_survey",
        )
    summary = interview_summary.strip() if isinstance(interview_summary, str) else ""
    return Persona(
        user_id=user_id,
        demographics=_section(survey, DEMOGRAPHICS),
        shopping_preference=_section(survey, SHOPPING_PREFERENCE),
        self_description=_self_description(survey.get(SELF_DESCRIPTION)),
        personality=_section(survey, PERSONALITY),
        interview_summary=summary or None,
        survey=dict(survey),
    )


def _section(survey: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = survey.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DataError(
            f"section {name!r} must be a JSON object, got {type(value).__name__}",
            field=f"survey.{name}",
            reason="invalid_survey",
        )
    return dict(value)


def _self_description(value: Any) -> str:
    """The two-sentence self description; a bare string section is accepted as that text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        text = value.get(TWO_SENTENCE_KEY)
        if text is None:
            # Some other key layout: keep every answer rather than silently losing the section.
            return " ".join(str(v).strip() for v in value.values() if str(v).strip())
        return str(text).strip()
    raise DataError(
        f"section {SELF_DESCRIPTION!r} must be an object or text, got {type(value).__name__}",
        field=f"survey.{SELF_DESCRIPTION}",
        reason="invalid_survey",
    )
