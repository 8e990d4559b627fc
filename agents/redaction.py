"""Credentials never reach result files or logs: URLs are redacted before they are written.

An endpoint URL may carry credentials, ``https://user:password@proxy.example/v1`` or
``...?api-key=...``; agents record their configuration in result files (``describe()``) and HTTP
libraries log every request URL. :func:`redact_url` replaces the user-info part with ``***`` and
the values of credential-like query parameters with ``***``; :func:`redact` does it to every URL
inside a JSON-like value; :func:`install_log_redaction` makes the HTTP client loggers do it.

Example:
    >>> redact_url("http://alice:s3cret@127.0.0.1:8000/v1")
    'http://***@127.0.0.1:8000/v1'
    >>> redact({"base_url": "https://h/v1?api-key=abc&x=1", "n": 2})
    {'base_url': 'https://h/v1?api-key=***&x=1', 'n': 2}
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: Query parameters whose values are secrets (compared case-insensitively).
SECRET_PARAMETERS = frozenset({"api_key", "api-key", "apikey", "key", "token", "access_token",
                               "auth", "password", "secret", "sig", "signature"})
#: Loggers of the HTTP stacks the OpenAI client uses; they log each request's full URL.
HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "openai", "urllib3")

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#]*@")  # to the last @ of the authority
_QUERY_SECRET = re.compile(r"([?&])([^=&#]+)=([^&#]*)")


def redact_url(url: str) -> str:
    """``url`` with its user-info and credential-like query values replaced by ``***``."""
    url = _USERINFO.sub(r"\1***@", url)

    def hide(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        return f"{sep}{name}=***" if name.lower() in SECRET_PARAMETERS and value else match.group(0)

    return _QUERY_SECRET.sub(hide, url)


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (error messages, log lines)."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


def redact(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings) with every URL redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(item) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrites a log record whose message contains a URL with credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the logging module's to report
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Add :class:`RedactingFilter` to the HTTP client loggers (idempotent)."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


__all__ = ["redact", "redact_text", "redact_url", "install_log_redaction", "RedactingFilter"]
