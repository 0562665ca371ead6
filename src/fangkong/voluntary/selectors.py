"""Reads of voluntary testing: the public list of open slots, and the staff's scoped views."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from fangkong.common import errors
from fangkong.common.scope import access, scoped
from fangkong.testing.models import Site

from . import roles
from .models import Booking, Schedule, Slot


def open_slots(*, day: dt.date, site_code: str = "") -> QuerySet[Slot]:
    """Public: the slots of the day at sites taking bookings, still to come. No personal data."""
    now = timezone.localtime(timezone.now())
    slots = Slot.objects.filter(
        day=day, site__voluntary_schedule__active=True, capacity__gt=0
    ).select_related("site")
    if day == now.date():
        slots = slots.filter(ends__gt=now.time())
    elif day < now.date():
        slots = slots.none()
    if site_code:
        slots = slots.filter(site__code=site_code)
    return slots.order_by("site__jpath", "site__code", "starts")


def schedule_list(*, actor) -> QuerySet[Schedule]:
    if not roles.can_view_bookings(actor):
        return Schedule.objects.none()
    return scoped(Schedule.objects.select_related("site"), actor)


def access_schedule(actor, pk) -> Schedule:
    if not roles.can_view_bookings(actor):
        raise errors.NotFound()
    return access(Schedule.objects.select_related("site"), actor, pk=pk)


def site_choices(*, actor) -> QuerySet[Site]:
    """Fixed sampling points in the actor's subtree without a schedule yet."""
    if not roles.can_manage_schedules(actor):
        return Site.objects.none()
    return scoped(Site.objects.filter(kind=Site.Kind.FIXED), actor).filter(
        voluntary_schedule__isnull=True
    )


def slot_list(*, actor, site_id: int | None = None, day: dt.date | None = None) -> QuerySet[Slot]:
    if not roles.can_view_bookings(actor):
        return Slot.objects.none()
    slots = scoped(Slot.objects.select_related("site"), actor)
    if site_id is not None:
        slots = slots.filter(site_id=site_id)
    if day is not None:
        slots = slots.filter(day=day)
    return slots.order_by("day", "site__code", "starts")


def access_slot(actor, pk) -> Slot:
    if not roles.can_view_bookings(actor):
        raise errors.NotFound()
    return access(Slot.objects.select_related("site"), actor, pk=pk)


def booking_list(
    *,
    actor,
    site_id: int | None = None,
    day: dt.date | None = None,
    slot_id: int | None = None,
    status: str | None = None,
) -> QuerySet[Booking]:
    """Bookings at the actor's sites (by the site's path), with person, slot and site joined."""
    if not roles.can_view_bookings(actor):
        return Booking.objects.none()
    bookings = scoped(Booking.objects.select_related("person", "slot", "site"), actor)
    if site_id is not None:
        bookings = bookings.filter(site_id=site_id)
    if day is not None:
        bookings = bookings.filter(day=day)
    if slot_id is not None:
        bookings = bookings.filter(slot_id=slot_id)
    if status:
        bookings = bookings.filter(status=status)
    return bookings.order_by("day", "slot__starts", "id")
