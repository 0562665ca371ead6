"""Writes of voluntary testing: schedules and slots (staff), bookings and the results lookup
(residents, no account), and the desk's scan of a booking's QR code."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import errors
from fangkong.common.masking import mask_id_number
from fangkong.common.scope import path_within, require
from fangkong.people import idnumber
from fangkong.people.models import DocumentType, Person
from fangkong.testing.models import Result, Sample, Site, Tube
from fangkong.testing.services import Conflict as TestingConflict
from fangkong.testing.services import TestingError, tube_scan

from . import roles, sms, throttle
from .models import BOOKING_PREFIX, Booking, LookupCode, Schedule, Slot

logger = logging.getLogger(__name__)

CODE_TTL = dt.timedelta(minutes=10)
CODE_TRIES = 5
RESULT_DAYS = 30  # a lookup shows the samples of the last 30 days
OPEN_DAYS_AHEAD = 14  # how far ahead staff may open a day's slots


class VoluntaryError(errors.DomainError):
    code = "invalid"


class Conflict(VoluntaryError, errors.Conflict):
    code = "conflict"


def _local_now() -> dt.datetime:
    return timezone.localtime(timezone.now())


# ------------------------------------------------------------------ staff: schedules and slots


def schedule_set(
    *,
    actor,
    site: Site,
    opens: dt.time,
    closes: dt.time,
    slot_minutes: int = 60,
    capacity: int = 20,
    active: bool = True,
) -> Schedule:
    """Create or change a site's voluntary-testing schedule. Slots already opened keep their
    places (set each with slot_capacity_set); days opened later take the new ones."""
    require(actor, roles.can_manage_schedules)
    if actor is not None and not path_within(actor, site.jpath):
        raise errors.NotFound()
    if not opens < closes:
        raise VoluntaryError(_("The site must open before it closes."), code="bad_hours")
    if not 10 <= slot_minutes <= 240:
        raise VoluntaryError(_("A slot lasts 10 to 240 minutes."), code="bad_slot_length")
    if not 1 <= capacity <= 1000:
        raise VoluntaryError(_("A slot has 1 to 1000 places."), code="bad_capacity")
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().filter(site=site).first()
        before = (
            {
                "opens": str(schedule.opens),
                "closes": str(schedule.closes),
                "slot_minutes": schedule.slot_minutes,
                "capacity": schedule.capacity,
                "active": schedule.active,
            }
            if schedule
            else None
        )
        schedule = schedule or Schedule(site=site, jpath=site.jpath)
        schedule.opens, schedule.closes = opens, closes
        schedule.slot_minutes, schedule.capacity, schedule.active = slot_minutes, capacity, active
        schedule.save()
        after = {
            "opens": str(opens),
            "closes": str(closes),
            "slot_minutes": slot_minutes,
            "capacity": capacity,
            "active": active,
        }
        audit_record(
            actor=actor,
            action=Action.UPDATE if before else Action.CREATE,
            obj=schedule,
            changes={"site": site.code, "before": before, "after": after},
        )
    return schedule


def slots_open(*, actor, schedule: Schedule, day: dt.date) -> list[Slot]:
    """The day's slots of the site from its schedule; slots that exist are kept as they are."""
    require(actor, roles.can_manage_schedules)
    if actor is not None and not path_within(actor, schedule.jpath):
        raise errors.NotFound()
    if day < _local_now().date():
        raise VoluntaryError(_("Slots cannot be opened for a past day."), code="day_past")
    if day > _local_now().date() + dt.timedelta(days=OPEN_DAYS_AHEAD):
        raise VoluntaryError(
            _("Slots open at most %(n)s days ahead.") % {"n": OPEN_DAYS_AHEAD}, code="day_too_far"
        )
    step = dt.timedelta(minutes=schedule.slot_minutes)
    at = dt.datetime.combine(day, schedule.opens)
    end = dt.datetime.combine(day, schedule.closes)
    wanted = []
    while at + step <= end:
        wanted.append(
            Slot(
                site=schedule.site,
                jpath=schedule.jpath,
                day=day,
                starts=at.time(),
                ends=(at + step).time(),
                capacity=schedule.capacity,
            )
        )
        at += step
    with transaction.atomic():
        Slot.objects.bulk_create(wanted, ignore_conflicts=True)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=schedule,
            changes={"opened_day": str(day), "slots": len(wanted)},
        )
    return list(Slot.objects.filter(site=schedule.site, day=day).order_by("starts"))


def slot_capacity_set(*, actor, slot: Slot, capacity: int) -> Slot:
    """Change one slot's places; never below the bookings it holds."""
    require(actor, roles.can_manage_schedules)
    if actor is not None and not path_within(actor, slot.jpath):
        raise errors.NotFound()
    if not 0 <= capacity <= 1000:
        raise VoluntaryError(_("A slot has 0 to 1000 places."), code="bad_capacity")
    with transaction.atomic():
        before = Slot.objects.filter(pk=slot.pk).values_list("capacity", flat=True).first()
        changed = Slot.objects.filter(pk=slot.pk, booked__lte=capacity).update(capacity=capacity)
        if not changed:
            raise Conflict(
                _("The slot already holds more bookings than that."), code="below_booked"
            )
        slot.refresh_from_db()
        audit_record(
            actor=actor, action=Action.UPDATE, obj=slot, changes={"capacity": [before, capacity]}
        )
    return slot


# ------------------------------------------------------------------ residents: bookings


def _registered(id_number: str) -> Person | None:
    number, _legacy = idnumber.upgrade(id_number or "")
    if not number or len(number) > 40:
        return None
    return (
        Person.objects.filter(document_type__in=DocumentType.values, document_number=number)
        .order_by("id")
        .first()
    )


def booking_create(
    *,
    slot_id,
    id_number: str,
    name: str,
    ip: str | None,
    now: dt.datetime | None = None,
    system: bool = False,
) -> Booking:
    """A resident books a place: ID number and name must match the registry (one refusal for
    either, so the page tells nothing more about who is registered), one live booking per person
    and day, and never more bookings than places, which the database itself guarantees: the
    slot's counter moves only by a conditional UPDATE (booked < capacity), so of two bookings
    of the last place exactly one succeeds."""
    if not system:  # the demo's own bookings (system=True) are not a visitor's attempts
        throttle.attempt("book", ip=ip, number=id_number or "")
    slot = Slot.objects.select_related("site").filter(pk=_int(slot_id)).first()
    if slot is None:
        raise errors.NotFound()
    now = now or _local_now()
    ends = timezone.make_aware(dt.datetime.combine(slot.day, slot.ends))
    if ends <= now:
        raise VoluntaryError(_("This slot is over; pick a later one."), code="slot_past")
    if not Schedule.objects.filter(site_id=slot.site_id, active=True).exists():
        raise VoluntaryError(_("This site takes no bookings now."), code="site_closed")
    person = _registered(id_number)
    if person is None or person.name.strip() != (name or "").strip():
        raise VoluntaryError(
            _("The ID number and the name do not match the population registry."),
            code="identity_mismatch",
        )
    if (
        Booking.objects.filter(person=person, day=slot.day)
        .exclude(status=Booking.Status.CANCELLED)
        .exists()
    ):
        raise Conflict(_("You already have a booking on that day."), code="already_booked")
    try:
        with transaction.atomic():
            taken = Slot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(
                booked=F("booked") + 1
            )
            if not taken:
                raise Conflict(_("This slot is full; pick another time or site."), code="slot_full")
            booking = Booking.objects.create(
                token=secrets.token_hex(16).upper(),
                slot=slot,
                site=slot.site,
                person=person,
                jpath=slot.jpath,
                day=slot.day,
            )
            audit_created(
                actor=None,
                obj=booking,
                fields={
                    "via": "voluntary",
                    "slot": str(slot),
                    "site": slot.site.code,
                    "person": mask_id_number(person.document_number),
                },
            )
    except IntegrityError:
        raise Conflict(
            _("You already have a booking on that day."), code="already_booked"
        ) from None
    return booking


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**62 else None


def booking_by_token(token: str) -> Booking:
    token = (token or "").strip().upper()
    if token.startswith(BOOKING_PREFIX):
        token = token[len(BOOKING_PREFIX) :]
    booking = (
        Booking.objects.select_related("slot", "site", "person").filter(token=token).first()
        if 0 < len(token) <= 40
        else None
    )
    if booking is None:
        raise errors.NotFound()
    return booking


def booking_cancel(*, token: str, ip: str | None) -> Booking:
    """The holder of the booking's code gives the place back; cancelling twice changes nothing."""
    with transaction.atomic():
        booking = booking_by_token(token)
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == Booking.Status.CANCELLED:
            return booking_by_token(token)
        if booking.status == Booking.Status.SAMPLED:
            raise Conflict(_("This booking was already sampled."), code="booking_sampled")
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = timezone.now()
        booking.save(update_fields=["status", "cancelled_at"])
        Slot.objects.filter(pk=booking.slot_id, booked__gt=0).update(booked=F("booked") - 1)
        audit_record(
            actor=None,
            action=Action.UPDATE,
            obj=booking,
            changes={"status": ["booked", "cancelled"], "via": "voluntary", "ip": ip or ""},
        )
    return booking_by_token(token)


def booking_scan(*, actor, round_, barcode: str, site: Site, code: str, kind: str, capacity, at):
    """The desk scanned a booking's QR code instead of the ID card: the booking's person is
    swabbed into the tube by the scan service itself (testing.services.tube_scan), and the
    booking is marked sampled. The code holds only at the booked site on the booked day. It
    stands for the ID card, so the desk's sampling area (residents of its district) does not
    apply: the resident chose this site, and the code proves it."""
    with transaction.atomic():
        try:
            booking = booking_by_token(code)
        except errors.NotFound:
            booking = None
        if booking is None or booking.site_id != site.pk:
            raise TestingError(
                _("This booking code is not for this site."), code="booking_not_here"
            )
        booking = (
            Booking.objects.select_for_update().select_related("person", "slot").get(pk=booking.pk)
        )
        if booking.status == Booking.Status.CANCELLED:
            raise TestingError(_("This booking was cancelled."), code="booking_cancelled")
        if booking.day != timezone.localtime(at).date():
            raise TestingError(_("This booking is for another day."), code="booking_other_day")
        if booking.status == Booking.Status.SAMPLED and booking.tube_barcode != barcode.strip():
            raise TestingConflict(
                _("This booking was already sampled in another tube."), code="booking_used"
            )
        scan = tube_scan(
            actor=actor,
            round_=round_,
            barcode=barcode,
            site=site,
            person=booking.person,
            kind=kind,
            capacity=capacity,
            at=at,
        )
        if booking.status == Booking.Status.BOOKED:
            booking.status = Booking.Status.SAMPLED
            booking.sampled_at = at
            booking.tube_barcode = scan.tube.barcode
            booking.save(update_fields=["status", "sampled_at", "tube_barcode"])
            audit_record(
                actor=actor,
                action=Action.UPDATE,
                obj=booking,
                changes={"status": ["booked", "sampled"], "tube": scan.tube.barcode},
            )
    return scan


# ------------------------------------------------------------------ residents: results lookup

SENT = gettext_lazy(
    "If this ID number is registered with a mobile phone, a code has been sent to it. "
    "It is valid for 10 minutes."
)


def _code_hash(person_id: int, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{person_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _audit_lookup(*, person: Person | None, id_number: str, outcome: str, ip: str | None):
    audit_record(
        actor=None,
        action=Action.VIEW_PII
        if outcome == "shown"
        else Action.LOGIN_FAILED
        if outcome == "refused"
        else Action.CREATE,
        object_type="voluntary.lookup",
        object_id=str(person.pk) if person else "",
        object_repr=mask_id_number(idnumber.normalize(id_number or "")[:40]),
        jurisdiction_path=person.jpath if person else "",
        changes={"outcome": outcome, "ip": ip or ""},
    )


def lookup_code_send(*, id_number: str, ip: str | None) -> str:
    """Send a one-time code to the phone the registry holds for this number. The answer is the
    same whether the number is registered or not (SENT): the page is no oracle of the registry."""
    throttle.attempt("code", ip=ip, number=id_number or "")
    person = _registered(id_number)
    with transaction.atomic():
        if person is not None and person.phone:
            now = timezone.now()
            # A new code replaces the ones before it.
            LookupCode.objects.filter(person=person, used_at__isnull=True).update(used_at=now)
            code = f"{secrets.randbelow(10**6):06d}"
            LookupCode.objects.create(
                person=person,
                code_hash=_code_hash(person.pk, code),
                created_at=now,
                expires_at=now + CODE_TTL,
            )
            # Sent inside the transaction: a sender that fails leaves no code behind (503).
            try:
                sms.send(
                    person.phone,
                    _("[Fangkong] Your code to see your test results: %(code)s (10 minutes).")
                    % {"code": code},
                )
            except Exception as exc:
                logger.error("SMS sender failed: %r", exc)
                raise errors.Unavailable(
                    _("Text messages cannot be sent right now; try again shortly.")
                ) from exc
        _audit_lookup(person=person, id_number=id_number, outcome="code_sent", ip=ip)
    return str(SENT)


@dataclass
class ResultLine:
    sampled_at: dt.datetime
    site: str
    kind: str
    status: str  # pending, negative, recheck, positive, resample
    label: str


@dataclass
class Lookup:
    name: str
    results: list[ResultLine]
    bookings: list[Booking]


STATUS_LABELS = {
    "pending": gettext_lazy("Being tested"),
    "negative": gettext_lazy("Negative"),
    "recheck": gettext_lazy("Re-check needed: staff will contact you"),
    "positive": gettext_lazy("Positive: stay where you are, staff will contact you"),
    "resample": gettext_lazy("Invalid sample: please be tested again"),
}


def _status(tube: Tube) -> str:
    if not tube.result:
        return "pending"
    if tube.result == Result.NEGATIVE:
        return "negative"
    if tube.result == Result.INVALID:
        return "resample"
    # A positive pool is not a positive person: only a single-tube result is.
    return "positive" if tube.kind == Tube.Kind.RECHECK or tube.capacity == 1 else "recheck"


def person_results(person: Person, *, days: int = RESULT_DAYS) -> list[ResultLine]:
    since = timezone.now() - dt.timedelta(days=days)
    samples = (
        Sample.objects.filter(person=person, sampled_at__gte=since)
        .select_related("tube", "tube__site")
        .order_by("-sampled_at")[:50]
    )
    lines = []
    for sample in samples:
        status = _status(sample.tube)
        lines.append(
            ResultLine(
                sampled_at=sample.sampled_at,
                site=sample.tube.site.name,
                kind=sample.kind,
                status=status,
                label=str(STATUS_LABELS[status]),
            )
        )
    return lines


def lookup_results(*, id_number: str, code: str, ip: str | None) -> Lookup:
    """The person's own results for the right code: single use, expiring, five tries. A wrong
    code, an expired one and a number without any code are one refusal (code_invalid)."""
    throttle.attempt("verify", ip=ip, number=id_number or "")
    person = _registered(id_number)
    refused = VoluntaryError(
        _("The code is not correct or has expired. Ask for a new one."), code="code_invalid"
    )
    code = (code or "").strip()
    with transaction.atomic():
        found = None
        if person is not None:
            found = (
                LookupCode.objects.select_for_update()
                .filter(
                    person=person,
                    used_at__isnull=True,
                    expires_at__gt=timezone.now(),
                    tries__lt=CODE_TRIES,
                )
                .order_by("-created_at")
                .first()
            )
        ok = found is not None and hmac.compare_digest(found.code_hash, _code_hash(person.pk, code))
        if not ok:
            if found is not None:
                found.tries += 1
                found.save(update_fields=["tries"])
            _audit_lookup(person=person, id_number=id_number, outcome="refused", ip=ip)
    if not ok:
        raise refused
    with transaction.atomic():
        found.used_at = timezone.now()
        found.save(update_fields=["used_at"])
        lines = person_results(person)
        bookings = list(
            Booking.objects.filter(
                person=person, day__gte=_local_now().date(), status=Booking.Status.BOOKED
            ).select_related("slot", "site")
        )
        _audit_lookup(person=person, id_number=id_number, outcome="shown", ip=ip)
    return Lookup(name=person.name, results=lines, bookings=bookings)
