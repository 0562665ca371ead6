"""Helpers of the tracing tests."""

import datetime as dt

from django.utils import timezone

from fangkong.tracing import services
from fangkong.tracing.services import LOCAL


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=LOCAL)


def open_case(person, classification="confirmed", **kwargs):
    kwargs.setdefault("reported_at", timezone.now() - dt.timedelta(hours=2))
    kwargs.setdefault("colocate", False)
    return services.case_open(actor=None, person=person, classification=classification, **kwargs)
