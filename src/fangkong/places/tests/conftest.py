"""The places tests assert the English source text of messages; the throttle store is the
test database's cache table."""

import pytest
from django.conf import settings
from django.utils import translation

from fangkong.places import scans


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def fresh_venue_cache():
    """Each test builds its own places: no venue code remembered from another test."""
    scans._places.clear()
    yield
    scans._places.clear()
