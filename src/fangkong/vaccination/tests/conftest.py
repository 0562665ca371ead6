"""Fixtures of the vaccination tests: people of known ages in grids A, B (district 1) and C
(district 2), a site in each district, and the English source text of messages."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone, translation

from fangkong.people.tests.factories import PersonFactory
from fangkong.vaccination import services


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


def born(age: int, today: dt.date | None = None) -> dt.date:
    """A birth date that makes someone `age` today (half a year past the birthday)."""
    today = today or timezone.localdate()
    return today - dt.timedelta(days=int(age * 365.25 + 180))


@pytest.fixture
def city(tree):
    """Grid A: ages 8, 30, 45, 65, 85 and a 2-year-old; grid B: 30, 72; grid C: 40, 81."""
    ages = {"grid_a": [8, 30, 45, 65, 85, 2], "grid_b": [30, 72], "grid_c": [40, 81]}
    people = {
        grid: [PersonFactory(grid=tree[grid], birth_date=born(age)) for age in grid_ages]
        for grid, grid_ages in ages.items()
    }
    site_a = services.site_create(
        actor=None, code="JZ-A", name="玄武区接种点", jurisdiction=tree["district"]
    )
    site_c = services.site_create(
        actor=None, code="JZ-C", name="秦淮区接种点", jurisdiction=tree["district2"]
    )
    return {"people": people, "site_a": site_a, "site_c": site_c, **tree}
