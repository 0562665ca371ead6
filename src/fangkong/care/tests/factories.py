"""Factories and helpers of the care tests."""

from itertools import count

from django.utils import timezone

from fangkong.care import services
from fangkong.tracing.models import Case

_codes = count(1)


def make_case(person, classification="confirmed", severity="moderate", **kwargs) -> Case:
    now = timezone.now()
    return Case.objects.create(
        person=person,
        jpath=person.jpath,
        code=f"C{next(_codes):05d}",
        classification=classification,
        severity=severity,
        reported_at=now,
        report_date=timezone.localdate(now),
        **kwargs,
    )


def make_hospital(node, code="H1", icu=2, general=4, **kwargs):
    return services.facility_create(
        actor=None,
        code=code,
        name=f"Hospital {code}",
        kind="designated",
        jurisdiction=node,
        icu_beds=icu,
        general_beds=general,
        **kwargs,
    )


def make_fangcang(node, code="F1", beds=200):
    return services.facility_create(
        actor=None,
        code=code,
        name=f"Cabin {code}",
        kind="fangcang",
        jurisdiction=node,
        fangcang_beds=beds,
    )
