"""A two-district city with one sampling point each, voluntary slots and residents; English."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.utils import timezone, translation
from rest_framework.test import APIClient

from fangkong.accounts.tests.factories import UserFactory
from fangkong.geo.tests.factories import JurisdictionFactory
from fangkong.people.tests.factories import PersonFactory
from fangkong.testing.tests.factories import LabFactory, SiteFactory, make_round
from fangkong.voluntary import services, sms
from fangkong.voluntary.models import Slot


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@dataclass
class Side:
    district: object
    grid: object
    site: object
    people: list
    sampler: object
    hq: object


@dataclass
class World:
    a: Side
    b: Side
    city: object
    round_: object
    lab: object
    commander: object
    today: dt.date
    tomorrow: dt.date

    def slot(self, side: Side, *, day=None, capacity=2, starts=dt.time(9, 0), ends=dt.time(10, 0)):
        schedule = services.schedule_set(
            actor=None, site=side.site, opens=dt.time(0, 0), closes=dt.time(23, 59)
        )
        assert schedule.active
        return Slot.objects.create(
            site=side.site,
            jpath=side.site.jpath,
            day=day or self.tomorrow,
            starts=starts,
            ends=ends,
            capacity=capacity,
        )

    def today_slot(self, side: Side, capacity=10):
        """A slot of today that lasts all day, so bookings and scans work at any hour."""
        return self.slot(
            side, day=self.today, capacity=capacity, starts=dt.time(0, 0), ends=dt.time(23, 59)
        )


def _side(city, code: str, mark: str) -> Side:
    district = JurisdictionFactory(code=code, level="district", name=f"{mark}区", parent=city)
    street = JurisdictionFactory(code=f"{code}001", level="street", parent=district)
    community = JurisdictionFactory(code=f"{code}001001", level="community", parent=street)
    grid = JurisdictionFactory(code=f"{code}001001G1", level="grid", parent=community)
    site = SiteFactory(code=f"{code}S", name=f"{mark}采样点", jurisdiction=community)
    people = [PersonFactory(grid=grid, name=f"{mark}{i}") for i in range(4)]
    return Side(
        district=district,
        grid=grid,
        site=site,
        people=people,
        sampler=UserFactory(role="sampler", jurisdiction=district),
        hq=UserFactory(role="hq_staff", working_group="testing", jurisdiction=district),
    )


@pytest.fixture
def world(db) -> World:
    city = JurisdictionFactory(code="320100", level="city", name="南京市")
    a = _side(city, "320102", "玄武")
    b = _side(city, "320104", "秦淮")
    round_ = make_round("VOL", city, pool_size=10)
    today = timezone.localdate()
    return World(
        a=a,
        b=b,
        city=city,
        round_=round_,
        lab=LabFactory(jurisdiction=city),
        commander=UserFactory(role="commander", jurisdiction=city),
        today=today,
        tomorrow=today + dt.timedelta(days=1),
    )


@pytest.fixture
def api():
    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


def book(slot, person, **kwargs):
    """A booking made early this morning (before any slot of today is over)."""
    morning = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(0, 0)))
    return services.booking_create(
        slot_id=slot.pk,
        id_number=person.document_number,
        name=person.name,
        ip=kwargs.pop("ip", "10.0.0.1"),
        now=kwargs.pop("now", morning),
        **kwargs,
    )


def last_code() -> str:
    _phone, message = sms.outbox[-1]
    return re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", message).group(1)
