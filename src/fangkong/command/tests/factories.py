"""Factories of tracing cases and activities for the command and analytics tests (the tracing
helper owns the model; these build rows straight from its fixed fields)."""

import datetime as dt
from zoneinfo import ZoneInfo

import factory

from fangkong.people.tests.factories import PersonFactory
from fangkong.tracing.models import Activity, Case

TZ = ZoneInfo("Asia/Shanghai")


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    person = factory.SubFactory(PersonFactory)
    jpath = factory.LazyAttribute(lambda o: o.person.jpath)
    code = factory.Sequence(lambda n: f"C{n:06d}")
    classification = "confirmed"
    found_by = "pool_screening"
    report_date = dt.date(2022, 4, 1)
    onset_date = factory.LazyAttribute(lambda o: o.report_date - dt.timedelta(days=2))
    reported_at = factory.LazyAttribute(
        lambda o: dt.datetime.combine(o.report_date, dt.time(9, 0), tzinfo=TZ)
    )


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    case = factory.SubFactory(CaseFactory)
    setting = "venue"
    place = factory.Sequence(lambda n: f"苏果超市第{n}分店")
    address = "中山路 1 号"
    start = factory.LazyAttribute(
        lambda o: dt.datetime.combine(
            o.case.report_date - dt.timedelta(days=1), dt.time(10, 0), tzinfo=TZ
        )
    )
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(minutes=40))
    public = True
