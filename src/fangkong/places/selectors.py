"""Reads of the places module, scoped first: the actor's subtree, and for a place's own staff
only the places they are bound to."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import errors
from fangkong.common.masking import mask_id_number, mask_phone
from fangkong.common.scope import fetch, scoped

from . import roles
from .models import DutyCheck, Place, PlaceInspection, PlaceOrder, Scan


def place_list(*, actor) -> QuerySet[Place]:
    if not roles.can_view_places(actor):
        return Place.objects.none()
    qs = scoped(Place.objects.all(), actor, "jpath").select_related("jurisdiction")
    if roles.is_place_staff(actor):
        qs = qs.filter(staff=actor)
    return qs


def access_place(actor, pk) -> Place:
    return fetch(place_list(actor=actor), pk=pk)


def with_open_order(qs: QuerySet[Place]) -> QuerySet[Place]:
    return qs.annotate(
        closed=Exists(
            PlaceOrder.objects.filter(
                place=OuterRef("pk"), lifted_at__isnull=True, measure="closed"
            )
        ),
        restricted=Exists(
            PlaceOrder.objects.filter(
                place=OuterRef("pk"), lifted_at__isnull=True, measure="restricted"
            )
        ),
    )


def open_order(place: Place) -> PlaceOrder | None:
    return (
        PlaceOrder.objects.filter(place=place, lifted_at__isnull=True)
        .select_related("risk_area", "response_level")
        .first()
    )


def order_list(*, actor) -> QuerySet[PlaceOrder]:
    return PlaceOrder.objects.filter(place__in=place_list(actor=actor)).select_related(
        "place", "risk_area", "response_level"
    )


def access_order(actor, pk) -> PlaceOrder:
    return fetch(order_list(actor=actor), pk=pk)


def duty_check_list(*, actor) -> QuerySet[DutyCheck]:
    return DutyCheck.objects.filter(place__in=place_list(actor=actor)).select_related("place")


def access_duty_check(actor, pk) -> DutyCheck:
    return fetch(duty_check_list(actor=actor), pk=pk)


def scan_list(*, actor) -> QuerySet[Scan]:
    """Scans of the places the actor may read visitors of (never a place's own staff)."""
    if not roles.can_read_visitors(actor):
        return Scan.objects.none()
    return Scan.objects.filter(place__in=place_list(actor=actor)).select_related("place")


def access_scan(actor, pk) -> Scan:
    return fetch(scan_list(actor=actor), pk=pk)


EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)  # days a page or the API may ask


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def scans_per_hour(place: Place, day: dt.date | None = None) -> list[int]:
    """Scans of each local hour (0..23) of the day: 24 counts, one grouped query."""
    from django.db.models.functions import ExtractHour

    day = day or timezone.localdate()
    start, end = day_bounds(day)
    counts = dict(
        Scan.objects.filter(place=place, scanned_at__gte=start, scanned_at__lt=end)
        .annotate(hour=ExtractHour("scanned_at"))
        .values_list("hour")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [counts.get(h, 0) for h in range(24)]


def inside_now(place: Place, *, hours: int = 3) -> int:
    """Visitors entered in the last `hours` hours who have not recorded their exit."""
    since = timezone.now() - dt.timedelta(hours=hours)
    return Scan.objects.filter(place=place, scanned_at__gte=since, left_at__isnull=True).count()


def place_cases(*, actor, place: Place, days: int = 14) -> list[dict]:
    """Cases (of the actor's subtree) whose person scanned in at this place in the last days."""
    from fangkong.tracing.models import Case

    since = timezone.now() - dt.timedelta(days=days)
    visits = Scan.objects.filter(place=place, scanned_at__gte=since, person__isnull=False)
    cases = scoped(Case.objects.all(), actor, "jpath").filter(
        person_id__in=visits.values("person_id")
    )
    last = dict(
        visits.filter(person_id__in=cases.values("person_id"))
        .values_list("person_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        {"case": c, "visits": last.get(c.person_id, 0)}
        for c in cases.order_by("-report_date", "code")[:50]
    ]


def place_inspections(*, actor, place: Place) -> QuerySet[PlaceInspection]:
    return scoped(
        PlaceInspection.objects.filter(place=place).select_related("inspection"), actor, "jpath"
    ).order_by("-inspection__visited_at")


def visitors_for(
    *, actor, place: Place, day: dt.date | None = None, limit: int = 200
) -> list[dict]:
    """The place's visitors of a day, numbers masked unless the actor may see them (then the
    reading is audited)."""
    from fangkong.accounts.roles import can_see_pii

    if not roles.can_read_visitors(actor):
        raise errors.Forbidden()
    day = day or timezone.localdate()
    start, end = day_bounds(day)
    rows = list(
        Scan.objects.filter(place=place, scanned_at__gte=start, scanned_at__lt=end)
        .order_by("-scanned_at", "-id")
        .values("id", "phone", "id_number", "person_id", "scanned_at", "left_at")[:limit]
    )
    full = can_see_pii(actor)
    if full and rows:
        audit_record(
            actor=actor,
            action=Action.VIEW_PII,
            obj=place,
            changes={"fields": ["visitors.phone", "visitors.id_number"], "day": str(day)},
        )
    for r in rows:
        if not full:
            r["phone"], r["id_number"] = mask_phone(r["phone"]), mask_id_number(r["id_number"])
    return rows


def access_node(actor, code: str, *, level: str | None = None):
    """A jurisdiction named by its code, inside the actor's subtree, else NotFound (an
    out-of-scope code reads as unknown: no oracle), before any work is done with it."""
    from fangkong.geo.models import Jurisdiction

    qs = scoped(Jurisdiction.objects.all(), actor, "path")
    if level is not None:
        qs = qs.filter(level=level)
    try:
        return fetch(qs, code=(code or "")[:64])
    except errors.NotFound:
        raise errors.NotFound(code="jurisdiction_unknown") from None


def access_login(actor, username: str):
    """A login named by its username whose node is inside the actor's subtree, else NotFound."""
    from django.contrib.auth import get_user_model

    qs = scoped(
        get_user_model().objects.select_related("jurisdiction"), actor, "jurisdiction__path"
    )
    try:
        return fetch(qs, username=(username or "").strip()[:150])
    except errors.NotFound:
        raise errors.NotFound(code="user_unknown") from None
