"""Writes of the places module: places and their staff, duty checks, closure and restriction
orders (by hand, or derived from risk areas and the response level), inspections of a place."""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record, audit_updated
from fangkong.common import errors, paths
from fangkong.common.scope import path_within, require
from fangkong.people.phone import is_valid_phone, normalize_phone

from . import policy, roles
from .models import (
    Duty,
    DutyCheck,
    Measure,
    OrderSource,
    Place,
    PlaceInspection,
    PlaceKind,
    PlaceOrder,
)


class PlacesError(errors.DomainError):
    pass


class Refused(PlacesError, errors.Invalid):
    pass


class Conflict(PlacesError, errors.Conflict):
    pass


def _within(actor, path: str) -> None:
    if actor is not None and not path_within(actor, path):
        raise errors.NotFound()


def _new_token() -> str:
    # 10 characters of base32 (50 bits): short enough for a small QR code, far too many to guess.
    return secrets.token_hex(8)[:10].upper()


def _next_code(jurisdiction) -> str:
    prefix = f"{jurisdiction.code}-"
    taken = Place.objects.filter(code__startswith=prefix).count()
    return f"{prefix}{taken + 1:05d}"


def place_create(
    *,
    actor,
    name: str,
    place_kind: str,
    jurisdiction,
    name_en: str = "",
    address: str = "",
    owner: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    capacity: int = 0,
    code: str = "",
) -> Place:
    """Register a key place on a node of the tree; it gets its number and venue code at once."""
    require(actor, roles.can_manage_places)
    _within(actor, jurisdiction.path)
    name = (name or "").strip()
    problems = {}
    if not name:
        problems["name"] = _("Name the place.")
    if place_kind not in PlaceKind.values:
        problems["place_kind"] = _("Unknown kind of place.")
    contact_phone = normalize_phone(contact_phone)
    if contact_phone and not is_valid_phone(contact_phone):
        problems["contact_phone"] = _("Not a phone number.")
    try:
        capacity = int(capacity or 0)
    except (TypeError, ValueError):
        capacity = -1
    if capacity < 0 or capacity > 1_000_000:
        problems["capacity"] = _("Capacity is a number of people from 0 to 1,000,000.")
    if problems:
        raise Refused(_("The place cannot be registered."), code="place_invalid", fields=problems)
    for attempt in range(5):
        place = Place(
            code=code.strip() or _next_code(jurisdiction),
            token=_new_token(),
            name=name,
            name_en=name_en.strip(),
            place_kind=place_kind,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            address=address.strip(),
            owner=owner.strip(),
            contact_name=contact_name.strip(),
            contact_phone=contact_phone,
            capacity=capacity,
        )
        try:
            with transaction.atomic():
                place.save()
                audit_created(
                    actor=actor,
                    obj=place,
                    fields={"code": place.code, "name": name, "kind": place_kind},
                )
            return place
        except IntegrityError:
            if code or attempt == 4:
                raise Conflict(
                    _("The place number %s is taken.") % place.code, code="place_code_taken"
                ) from None
    raise AssertionError("unreachable")


def place_staff_bind(*, actor, place: Place, user, bound: bool = True) -> None:
    """Bind a place-staff login to a place (or unbind it): they see and record that place."""
    require(actor, roles.can_manage_places)
    _within(actor, place.jpath)
    if bound and not roles.is_place_staff(user):
        raise Refused(
            _("Only a place-staff login can be bound to a place."), code="not_place_staff"
        )
    if bound and (
        user.jurisdiction is None or not paths.within(place.jpath, user.jurisdiction.path)
    ):
        raise Refused(
            _("The login works on another part of the city than the place."),
            code="staff_outside_place",
        )
    with transaction.atomic():
        if bound:
            place.staff.add(user)
        else:
            place.staff.remove(user)
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=place,
            changes={"staff": [None if bound else user.username, user.username if bound else None]},
        )


def duty_check_record(
    *, actor, place: Place, duty: str, done: bool, note: str = "", day: dt.date | None = None
) -> DutyCheck:
    """Record (or correct) one duty of a place for a day; the place's kind must carry it."""
    require(actor, roles.can_record_duties)
    _within(actor, place.jpath)
    if (
        actor is not None
        and roles.is_place_staff(actor)
        and not place.staff.filter(pk=actor.pk).exists()
    ):
        raise errors.NotFound()
    day = day or timezone.localdate()
    if day > timezone.localdate():
        raise Refused(_("A duty check cannot be recorded for a day to come."), code="day_in_future")
    if day < timezone.localdate() - dt.timedelta(days=30):
        raise Refused(_("A duty check is recorded within 30 days."), code="day_too_old")
    if duty not in policy.duties_of(place.place_kind):
        raise Refused(
            _("This kind of place does not carry that duty under the policy in force."),
            code="duty_not_required",
        )
    now = timezone.now()
    with transaction.atomic():
        check = (
            DutyCheck.objects.select_for_update().filter(place=place, day=day, duty=duty).first()
        )
        if check is None:
            check = DutyCheck.objects.create(
                place=place,
                jpath=place.jpath,
                day=day,
                duty=duty,
                done=bool(done),
                note=note.strip()[:200],
                recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
                recorded_at=now,
            )
            audit_created(
                actor=actor, obj=check, fields={"duty": duty, "day": day, "done": bool(done)}
            )
            return check
        before = {"done": check.done, "note": check.note}
        check.done, check.note, check.recorded_at = bool(done), note.strip()[:200], now
        check.recorded_by = actor if getattr(actor, "is_authenticated", False) else None
        check.save(update_fields=["done", "note", "recorded_at", "recorded_by"])
        audit_updated(
            actor=actor, obj=check, before=before, after={"done": check.done, "note": check.note}
        )
    return check


def duties_today(place: Place, day: dt.date | None = None) -> list[dict]:
    """The duties the place's kind carries, each with today's check (or None)."""
    day = day or timezone.localdate()
    checks = {c.duty: c for c in DutyCheck.objects.filter(place=place, day=day)}
    return [
        {"duty": duty, "label": Duty(duty).label, "check": checks.get(duty)}
        for duty in policy.duties_of(place.place_kind)
    ]


# --- closure and restriction orders -------------------------------------------------------------


def place_order_issue(
    *,
    actor,
    place: Place,
    measure: str,
    capacity_percent: int = 0,
    reason: str = "",
    source: str = OrderSource.MANUAL,
    risk_area=None,
    response_level=None,
    at: dt.datetime | None = None,
) -> PlaceOrder:
    """Close a place or restrict its capacity; an open order is replaced (lifted, then the new one)."""
    require(actor, roles.can_manage_places)
    _within(actor, place.jpath)
    if measure not in Measure.values:
        raise Refused(_("The measure is closed or restricted."), code="measure_unknown")
    try:
        capacity_percent = int(capacity_percent or 0)
    except (TypeError, ValueError):
        capacity_percent = -1
    if measure == Measure.RESTRICTED and not 1 <= capacity_percent <= 99:
        raise Refused(
            _("A restriction allows between 1 and 99 per cent of the capacity."),
            code="percent_out_of_range",
        )
    if measure == Measure.CLOSED:
        capacity_percent = 0
    at = at or timezone.now()
    with transaction.atomic():
        Place.objects.select_for_update().filter(pk=place.pk).first()
        for open_order in PlaceOrder.objects.filter(place=place, lifted_at__isnull=True):
            _lift(actor, open_order, at)
        order = PlaceOrder.objects.create(
            place=place,
            jpath=place.jpath,
            measure=measure,
            capacity_percent=capacity_percent,
            source=source,
            risk_area=risk_area,
            response_level=response_level,
            reason=reason.strip()[:200],
            issued_at=at,
            issued_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_created(
            actor=actor,
            obj=order,
            fields={"measure": measure, "capacity_percent": capacity_percent, "source": source},
        )
    from .scans import forget_place

    forget_place(place.token)
    return order


def _lift(actor, order: PlaceOrder, at) -> None:
    order.lifted_at = at
    order.lifted_by = actor if getattr(actor, "is_authenticated", False) else None
    order.save(update_fields=["lifted_at", "lifted_by"])
    audit_updated(actor=actor, obj=order, before={"lifted_at": None}, after={"lifted_at": at})


def place_order_lift(*, actor, order: PlaceOrder) -> PlaceOrder:
    require(actor, roles.can_manage_places)
    _within(actor, order.jpath)
    with transaction.atomic():
        order = PlaceOrder.objects.select_for_update().get(pk=order.pk)
        if order.lifted_at is not None:
            raise Conflict(_("The order is lifted already."), code="order_lifted")
        _lift(actor, order, timezone.now())
    from .scans import forget_place

    forget_place(order.place.token)
    return order


def _required_orders(places, areas, response) -> dict[int, tuple]:
    """place id -> (effect, source, risk area, response level) of the strictest rule in force."""
    wanted = {}
    for place in places:
        best = None
        for area in areas:
            if not place.jpath.startswith(area.jpath):
                continue
            effect = policy.risk_effect(place.place_kind, area.level)
            if effect and (best is None or effect.severity() < best[0].severity()):
                best = (effect, OrderSource.RISK_AREA, area, None)
        for level in response:
            if not (place.jpath.startswith(level.jpath) or level.jpath.startswith(place.jpath)):
                continue
            effect = policy.response_effect(place.place_kind, level.level)
            if effect and (best is None or effect.severity() < best[0].severity()):
                best = (effect, OrderSource.RESPONSE_LEVEL, None, level)
        if best is not None:
            wanted[place.pk] = best
    return wanted


def place_orders_apply(*, actor, jpath: str | None = None, at: dt.datetime | None = None) -> dict:
    """Bring the places of a subtree in line with the risk areas and the response level in
    force: a place inside an active local risk area (or under a declared level) gets the order
    its kind carries under the policy; an order derived from an area that ended, or a level no
    longer in force, is lifted. Orders given by hand are left alone."""
    from fangkong.command.models import ResponseLevel, RiskArea

    require(actor, roles.can_manage_places)
    if actor is not None:
        from fangkong.common.scope import actor_path

        top = actor_path(actor)
        if top is None:
            raise errors.Forbidden()
        jpath = jpath if jpath and paths.within(jpath, top) else top
    jpath = jpath or paths.ROOT
    at = at or timezone.now()
    today = timezone.localdate(at)
    areas = list(
        RiskArea.objects.filter(external=False, ended_on__isnull=True, since__lte=today)
        .exclude(jpath="")
        .filter(Q(jpath__startswith=jpath) | Q(jpath__in=paths.ancestors(jpath)))
    )
    # The level in force at each node is its latest declaration.
    latest: dict[str, ResponseLevel] = {}
    for level in ResponseLevel.objects.filter(declared_at__lte=at).order_by("declared_at", "id"):
        latest[level.jpath] = level
    response = list(latest.values())
    places = list(Place.objects.filter(jpath__startswith=jpath, active=True))
    wanted = _required_orders(places, areas, response)
    open_orders = {
        o.place_id: o
        for o in PlaceOrder.objects.filter(jpath__startswith=jpath, lifted_at__isnull=True)
    }
    stats = {"issued": 0, "lifted": 0, "kept": 0}
    for place in places:
        current = open_orders.get(place.pk)
        want = wanted.get(place.pk)
        if current is not None and current.source == OrderSource.MANUAL:
            stats["kept"] += 1
            continue
        if want is None:
            if current is not None:
                with transaction.atomic():
                    _lift(actor, current, at)
                stats["lifted"] += 1
            continue
        effect, source, area, level = want
        if (
            current is not None
            and current.measure == effect.measure
            and current.capacity_percent == effect.percent
            and current.risk_area_id == (area.pk if area else None)
            and current.response_level_id == (level.pk if level else None)
        ):
            stats["kept"] += 1
            continue
        reason = str(area) if area else str(level)
        place_order_issue(
            actor=actor,
            place=place,
            measure=effect.measure,
            capacity_percent=effect.percent,
            reason=reason,
            source=source,
            risk_area=area,
            response_level=level,
            at=at,
        )
        stats["issued"] += 1
    return stats


def place_orders_follow(*, jpath: str) -> dict:
    """The job behind the command events: the places under a risk area or a response level
    that was declared, changed or ended get (or lose) their derived orders."""
    return place_orders_apply(actor=None, jpath=jpath)


def on_command_change(*, jpath: str, **_payload) -> None:
    """command.risk_area_changed / command.response_level_declared: bring the places under the
    node in line once the change commits (queued; in-process without Redis). A failure is
    logged, never undoes the declaration; the on-demand apply (page, API, CLI) still mends it."""
    import logging

    from fangkong.common import jobs

    def run():
        try:
            jobs.enqueue("fangkong.places.services.place_orders_follow", jpath=jpath)
        except Exception:
            logging.getLogger(__name__).exception("place orders under %s not applied", jpath)

    transaction.on_commit(run)


# --- inspections ------------------------------------------------------------------------------


def place_inspection_start(*, actor, place: Place, unannounced: bool = False) -> PlaceInspection:
    """Start a command inspection that targets this place: the checklist is command's, the
    place's duties and today's checks are on the place page the inspector works from."""
    from fangkong.command.services import inspection_start

    _within(actor, place.jpath)
    with transaction.atomic():
        inspection = inspection_start(
            actor=actor,
            place=f"{place.name} ({place.code})",
            jurisdiction=place.jurisdiction,
            unannounced=unannounced,
        )
        return PlaceInspection.objects.create(inspection=inspection, place=place, jpath=place.jpath)


# --- retention and export ---------------------------------------------------------------------


def scans_purge(*, days: int = 21, now: dt.datetime | None = None) -> int:
    """Delete venue scans older than `days` (kept about 21 days, shared/DOMAIN.md): one
    statement per 50,000 rows, so a day of 10 million never holds one long lock."""
    from .models import Scan

    if days < 1:
        raise Refused(_("Keep scans at least one day."), code="days_out_of_range")
    before = (now or timezone.now()) - dt.timedelta(days=days)
    total = 0
    while True:
        ids = list(Scan.objects.filter(scanned_at__lt=before).values_list("id", flat=True)[:50000])
        if not ids:
            return total
        total += Scan.objects.filter(pk__in=ids).delete()[0]


def scans_export(*, out: str, days: int = 21) -> int:
    """The scans of registry people as the engine's `scans` input (person_id, venue_id,
    scanned_at in naive local time), for `fangkong colocate venue` over many cases at once."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fangkong.tracing.services import LOCAL

    from .models import Scan

    since = timezone.now() - dt.timedelta(days=days)
    writer = None
    total = 0
    qs = (
        Scan.objects.filter(scanned_at__gte=since, person__isnull=False)
        .order_by("id")
        .values_list("person_id", "place__code", "scanned_at")
    )
    schema = pa.schema(
        [("person_id", pa.string()), ("venue_id", pa.string()), ("scanned_at", pa.timestamp("us"))]
    )
    batch: list[tuple] = []

    def flush():
        nonlocal writer, total
        if writer is None:
            writer = pq.ParquetWriter(out, schema)
        writer.write_table(
            pa.table(
                {
                    "person_id": [str(p) for p, _v, _t in batch],
                    "venue_id": [v for _p, v, _t in batch],
                    "scanned_at": [
                        timezone.localtime(t, LOCAL).replace(tzinfo=None) for _p, _v, t in batch
                    ],
                },
                schema=schema,
            )
        )
        total += len(batch)
        batch.clear()

    for row in qs.iterator(chunk_size=20000):
        batch.append(row)
        if len(batch) >= 100000:
            flush()
    if batch or writer is None:
        flush()
    writer.close()
    return total
