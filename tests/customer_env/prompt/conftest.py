"""Fixtures of the prompt tests: the pages themselves live in ``opera_pages``."""

from __future__ import annotations

import pytest

from opera_pages import big_search_page


@pytest.fixture(scope="session")
def big_page() -> str:
    """A realistic search page of about 100k characters."""
    return big_search_page()
