"""The screening tests: a district campaign over grids A and B (grid C is in another district)."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone, translation

from fangkong.command.models import RiskArea
from fangkong.geo.tests.factories import BuildingFactory, HouseholdFactory
from fangkong.people.tests.factories import PersonFactory
from fangkong.screening import services


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def homes(tree, people):
    """Grid A: the people fixture's household of three, and three more (one building each of
    two); grid B: two households of one person each; grid C: one household."""
    a1 = people["a"][0].household
    building = BuildingFactory(grid=tree["grid_a"], name="1号楼")
    a2, a3, a4 = (HouseholdFactory(building=building) for _ in range(3))
    PersonFactory(grid=tree["grid_a"], household=a2)
    PersonFactory(grid=tree["grid_a"], household=a2)
    b1, b2 = (HouseholdFactory(building__grid=tree["grid_b"]) for _ in range(2))
    for person, household in zip(people["b"], (b1, b2), strict=True):
        person.household = household
        person.save()
    c1 = HouseholdFactory(building__grid=tree["grid_c"])
    people["c"][0].household = c1
    people["c"][0].save()
    return {"a": [a1, a2, a3, a4], "b": [b1, b2], "c": [c1]}


@pytest.fixture
def campaign(tree, homes):
    return services.campaign_open(
        actor=None,
        jurisdiction=tree["district"],
        name="玄武区入户排查",
        deadline=timezone.now() + dt.timedelta(days=2),
    )


@pytest.fixture
def high_risk_area(db):
    today = dt.date.today()
    return RiskArea.objects.create(
        name="花木街道",
        level="high",
        external=True,
        province="上海市",
        city="上海市",
        district="浦东新区",
        external_key="上海市|浦东新区|花木街道",
        since=today,
        level_since=today,
    )
