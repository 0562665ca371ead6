"""The places tests assert the English source text of messages; the throttle store is the
test database's cache table."""

import pytest
from django.conf import settings
from django.utils import translation

from fangkong.places import scans

from .factories import city_of_two, make_place


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


@pytest.fixture
def scan_world():
    """One side of the two-community city and a place in its community (the scan tests)."""
    _city, a, _b = city_of_two()
    return a, make_place(a.community)
