"""Writes of the checkpoints module: registration and disposition of arrivals, closed-loop
transfers to isolation sites, and the alert for anyone dispatched and not checked in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.command.models import SEVERITY
from fangkong.command.selectors import is_risk_origin
from fangkong.common import errors
from fangkong.common.models import Alert
from fangkong.common.scope import require
from fangkong.control import services as control
from fangkong.control.models import Category, ControlOrder, Measure, Site
from fangkong.geo.models import Jurisdiction, Level
from fangkong.people import idnumber
from fangkong.people.models import DocumentType, Person
from fangkong.testing.services import scan_number

from . import roles
from .models import Arrival, Checkpoint, Disposition, HealthCode, Passenger, Transfer

FEVER = Decimal("37.3")


class CheckpointError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Conflict(CheckpointError, errors.Conflict):
    pass


def transfer_limit() -> timedelta:
    """How long a dispatched person may take to be checked in (FANGKONG_TRANSFER_LIMIT_HOURS)."""
    return timedelta(hours=float(settings.FANGKONG_TRANSFER_LIMIT_HOURS))


def checkpoint_create(*, actor, code, name, kind, jurisdiction, address="") -> Checkpoint:
    if kind not in Checkpoint.Kind.values:
        raise CheckpointError(_("Unknown kind of checkpoint."))
    with transaction.atomic():
        checkpoint = Checkpoint.objects.create(
            code=code,
            name=name,
            kind=kind,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            address=address,
        )
        audit_created(
            actor=actor, obj=checkpoint, fields={"code": code, "name": name, "kind": kind}
        )
    return checkpoint


# --- disposition -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    disposition: str
    category: str | None  # the control order it opens; None: released, no order
    reasons: list[str]


def disposition_decide(
    *, temperature: Decimal, health_code: str, risk_level: str = "", abroad: bool = False
) -> Decision:
    """The rules, strictest first. A red code is treated as a close contact (that is what a red
    code meant); arrivals from abroad and from high-risk areas (their own category, so the
    policy decides: ed. 9 gives 7 days centralized isolation) go to centralized isolation;
    medium-risk areas and yellow codes to home health monitoring; a fever or a low-risk area
    means a test on the spot and daily self-monitoring; everybody else goes on their way."""
    severity = SEVERITY.get(risk_level) if risk_level else None
    reasons = []
    if health_code == HealthCode.RED:
        reasons.append(_("red health code"))
    if abroad:
        reasons.append(_("arriving from abroad"))
    if severity is not None:
        reasons.append(_("from a risk area"))
    if temperature >= FEVER:
        reasons.append(_("fever %s °C") % temperature)
    if health_code == HealthCode.YELLOW:
        reasons.append(_("yellow health code"))
    if health_code == HealthCode.RED:
        return Decision(Disposition.CENTRALIZED, Category.CLOSE_CONTACT, reasons)
    if abroad:
        return Decision(Disposition.CENTRALIZED, Category.INBOUND, reasons)
    if severity == 0:
        # The measure and its days are the policy's (ed. 9: 7 days centralized), not code's.
        return Decision(Disposition.CENTRALIZED, Category.RISK_AREA_HIGH, reasons)
    if severity == 1 or health_code == HealthCode.YELLOW:
        return Decision(Disposition.HOME_MONITORING, Category.RISK_AREA, reasons)
    if temperature >= FEVER or severity == 2:
        return Decision(Disposition.TEST, Category.RETURNING, reasons)
    return Decision(Disposition.RELEASE, None, reasons)


# The measure the policy gives decides what really happens; a disposition names it.
_DISPOSITION_OF_MEASURE = {
    Measure.CENTRALIZED: Disposition.CENTRALIZED,
    Measure.HOME_ISOLATION: Disposition.HOME_ISOLATION,
    Measure.HOME_MONITORING: Disposition.HOME_MONITORING,
    Measure.SELF_MONITORING: Disposition.TEST,
}


def _temperature(value) -> Decimal:
    try:
        temperature = Decimal(str(value).strip()).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError) as exc:
        raise CheckpointError(_("Enter the temperature in °C, e.g. 36.5.")) from exc
    if not Decimal("34") <= temperature <= Decimal("43"):
        raise CheckpointError(
            _("A body temperature lies between 34 and 43 °C."), code="temperature_out_of_range"
        )
    return temperature


def _person(document_type, number, name, phone, grid, sex, birth_date, address) -> Person | None:
    """The registry's person with this document, or a new resident of the destination grid."""
    person = (
        Person.objects.filter(document_type=document_type, document_number=number)
        .select_related("grid")
        .first()
    )
    if person is not None or grid is None:
        return person
    if document_type == DocumentType.RESIDENT_ID:
        try:
            birth_date, sex = idnumber.parse(number)
        except idnumber.InvalidIdNumber as exc:
            raise CheckpointError(str(exc)) from exc
    if not (sex and birth_date and name):
        raise CheckpointError(_("Someone not in the registry needs a name, sex and birth date."))
    return Person.objects.create(
        document_type=document_type,
        document_number=number,
        name=name,
        sex=sex,
        birth_date=birth_date,
        phone=phone,
        grid=grid,
        jpath=grid.path,
        address=address,
    )


def arrival_register(
    *,
    actor,
    checkpoint: Checkpoint,
    document_number: str,
    origin: str,
    temperature,
    health_code: str,
    destination: str = "",
    destination_grid: Jurisdiction | None = None,
    document_type: str = DocumentType.RESIDENT_ID,
    name: str = "",
    phone: str = "",
    abroad: bool = False,
    sex: str = "",
    birth_date=None,
    at: datetime | None = None,
) -> Arrival:
    """Register one arrival, decide the disposition and open the control order it needs."""
    require(actor, roles.can_register)
    if not checkpoint.active:
        raise CheckpointError(_("The checkpoint is closed."))
    # A scanned health code carries the ID number at its end, as the sampling scanner reads it.
    number = scan_number(document_number) if document_number else ""
    if not number:
        raise CheckpointError(_("Enter the document number."))
    if document_type not in DocumentType.values:
        raise CheckpointError(_("Unknown document type."))
    if health_code not in HealthCode.values:
        raise CheckpointError(_("Choose the colour of the health code."))
    if not origin.strip():
        raise CheckpointError(_("Enter where the person comes from."))
    if destination_grid is not None and destination_grid.level != Level.GRID:
        raise CheckpointError(_("The destination must be a grid."), code="destination_not_grid")
    temperature = _temperature(temperature)
    area = is_risk_origin(origin)
    decision = disposition_decide(
        temperature=temperature,
        health_code=health_code,
        risk_level=area.level if area else "",
        abroad=abroad,
    )
    now = at or timezone.now()
    with transaction.atomic():
        person = _person(
            document_type,
            number,
            name.strip(),
            phone.strip(),
            destination_grid,
            sex,
            birth_date,
            destination.strip(),
        )
        if decision.category is not None and person is None:
            raise CheckpointError(
                _("Not in the registry: choose the destination grid so the grid can follow up."),
                code="destination_grid_required",
            )
        disposition, order = decision.disposition, None
        if decision.category is not None:
            order = ControlOrder.objects.filter(person=person, status="open").first()
            if order is None:
                try:
                    order = control.control_order_open(
                        actor=actor,
                        person=person,
                        category=decision.category,
                        start=now,
                        reason="; ".join(decision.reasons)[:200],
                        source=checkpoint.name[:60],
                    )
                except control.ControlError as exc:
                    raise CheckpointError(str(exc), code=exc.code) from exc
            disposition = _DISPOSITION_OF_MEASURE[order.measure]
        arrival = Arrival.objects.create(
            checkpoint=checkpoint,
            jpath=checkpoint.jpath,
            person=person,
            document_type=document_type,
            document_number=number,
            name=person.name if person else name.strip(),
            phone=phone.strip() or (person.phone if person else ""),
            origin=origin.strip()[:200],
            abroad=abroad,
            risk_area=area,
            risk_level=area.level if area else "",
            temperature=temperature,
            health_code=health_code,
            destination=(destination.strip() or (person.address if person else ""))[:200],
            destination_grid=destination_grid or (person.grid if person else None),
            disposition=disposition,
            reasons="; ".join(decision.reasons)[:200],
            order=order,
            registered_at=now,
            registered_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_created(
            actor=actor,
            obj=arrival,
            fields={
                "checkpoint": checkpoint.code,
                "disposition": disposition,
                "order": order.pk if order else None,
            },
        )
    return arrival


# --- closed-loop transfers ---------------------------------------------------------------------


def transfer_create(
    *,
    actor,
    checkpoint: Checkpoint,
    site: Site,
    vehicle: str,
    driver: str,
    orders: list[ControlOrder],
    driver_phone: str = "",
    pickup: str = "",
) -> Transfer:
    """A vehicle for people under centralized isolation: each gets a room at the drop-off site
    now (control's batch assignment, that site only), so the site knows who is coming."""
    require(actor, roles.can_transfer)
    if not vehicle.strip() or not driver.strip():
        raise CheckpointError(_("A transfer needs a vehicle and a driver."))
    if not orders:
        raise CheckpointError(_("Nobody is on board."))
    if not site.active:
        raise CheckpointError(_("The isolation site is not in service."))
    now = timezone.now()
    with transaction.atomic():
        ids = [o.pk for o in orders]
        locked = list(ControlOrder.objects.select_for_update().filter(pk__in=ids))
        if len(locked) != len(set(ids)):
            raise CheckpointError(_("An order on the list does not exist."))
        for order in locked:
            if order.status != ControlOrder.Status.OPEN or order.measure != Measure.CENTRALIZED:
                raise CheckpointError(
                    _("%s is not under centralized isolation.") % order.person.name,
                    code="not_centralized",
                )
            if order.room_id and order.room.site_id != site.pk:
                raise Conflict(_("%s already has a room at another site.") % order.person.name)
        if Passenger.objects.filter(order_id__in=ids, checked_in_at__isnull=True).exists():
            raise Conflict(
                _("Somebody on the list is already on another transfer."),
                code="already_on_transfer",
            )
        try:
            control.rooms_assign_batch(actor=actor, orders=ids, site=site)
        except control.ControlError as exc:
            # The control refusal's code (e.g. no_room) is what clients compare; keep it.
            raise CheckpointError(str(exc), code=exc.code) from exc
        if ControlOrder.objects.filter(pk__in=ids, room__isnull=True).exists():
            raise Conflict(_("Not enough vacant rooms at %s.") % site.name, code="no_room")
        transfer = Transfer.objects.create(
            checkpoint=checkpoint,
            jpath=checkpoint.jpath,
            pickup=(pickup.strip() or checkpoint.name)[:200],
            site=site,
            vehicle=vehicle.strip()[:20],
            driver=driver.strip()[:60],
            driver_phone=driver_phone.strip()[:20],
            created_at=now,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        arrivals = dict(
            Arrival.objects.filter(order_id__in=ids)
            .order_by("registered_at")
            .values_list("order_id", "pk")
        )
        Passenger.objects.bulk_create(
            Passenger(transfer=transfer, order_id=i, arrival_id=arrivals.get(i)) for i in ids
        )
        audit_created(
            actor=actor,
            obj=transfer,
            fields={"site": site.code, "vehicle": transfer.vehicle, "orders": ids},
        )
    return transfer


_NEXT = {
    Transfer.State.PLANNED: (Transfer.State.DISPATCHED, "dispatched_at"),
    Transfer.State.DISPATCHED: (Transfer.State.PICKED_UP, "picked_up_at"),
    Transfer.State.PICKED_UP: (Transfer.State.ARRIVED, "arrived_at"),
}


def transfer_advance(*, actor, transfer: Transfer, at: datetime | None = None) -> Transfer:
    """Dispatched → picked up → arrived, each with its time stamp."""
    require(actor, roles.can_transfer)
    now = at or timezone.now()
    with transaction.atomic():
        transfer = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if transfer.state not in _NEXT:
            raise CheckpointError(
                _("The transfer has arrived; check the passengers in."), code="transfer_arrived"
            )
        state, stamp = _NEXT[transfer.state]
        before = transfer.state
        transfer.state = state
        setattr(transfer, stamp, now)
        transfer.save(update_fields=["state", stamp])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=transfer,
            jurisdiction_path=transfer.jpath,
            changes={"state": [before, state], stamp: [None, now.isoformat()]},
        )
    return transfer


def passenger_check_in(*, actor, passenger: Passenger) -> Passenger:
    """The arrival check-in at the site: the person's room stay starts (control's check-in)."""
    require(actor, roles.can_transfer)
    with transaction.atomic():
        passenger = (
            Passenger.objects.select_for_update()
            .select_related("transfer", "order")
            .get(pk=passenger.pk)
        )
        transfer = passenger.transfer
        if passenger.checked_in_at is not None:
            raise Conflict(_("Already checked in."), code="already_checked_in")
        if transfer.state not in (Transfer.State.PICKED_UP, Transfer.State.ARRIVED):
            raise CheckpointError(
                _("The vehicle has not picked the passengers up yet."), code="not_picked_up"
            )
        try:
            stay = control.room_check_in(actor=actor, order=passenger.order)
        except control.ControlError as exc:
            raise CheckpointError(str(exc), code=exc.code) from exc
        passenger.checked_in_at = stay.checked_in_at
        passenger.save(update_fields=["checked_in_at"])
        if transfer.state == Transfer.State.PICKED_UP:
            transfer.state, transfer.arrived_at = Transfer.State.ARRIVED, stay.checked_in_at
            transfer.save(update_fields=["state", "arrived_at"])
        if not transfer.passengers.filter(checked_in_at__isnull=True).exists():
            transfer.state = Transfer.State.DONE
            transfer.save(update_fields=["state"])
    return passenger


_LOST_SQL = """
INSERT INTO common_alert
    (kind, level, title, body, jurisdiction_path, object_type, object_id, dedupe_key, created_at)
SELECT 'transfer_lost', %s, %s || p.name || ' (' || t.vehicle || ')', %s, {path},
       'checkpoints.transfer', CAST(t.id AS varchar(20)),
       'checkpoints:transfer:' || CAST(t.id AS varchar(20)) || ':' || CAST(x.order_id AS varchar(20))
           || ':lost{suffix}', %s
FROM checkpoints_passenger x
JOIN checkpoints_transfer t ON t.id = x.transfer_id
JOIN control_controlorder o ON o.id = x.order_id
JOIN people_person p ON p.id = o.person_id
{join}
WHERE t.dispatched_at IS NOT NULL AND t.dispatched_at <= %s AND x.checked_in_at IS NULL
  AND o.status = 'open'
  AND NOT EXISTS (SELECT 1 FROM control_stay s
                  WHERE s.order_id = x.order_id AND s.checked_in_at IS NOT NULL
                    AND s.checked_in_at >= t.dispatched_at)
ON CONFLICT DO NOTHING
"""


def transfers_lost_alert(*, now: datetime | None = None) -> int:
    """Alert the checkpoint and the site for every person dispatched at least the limit ago and
    not checked in anywhere since: two INSERT … SELECT statements, however many transfers."""
    now = now or timezone.now()
    due = connection.ops.adapt_datetimefield_value(now - transfer_limit())
    hours = transfer_limit().total_seconds() / 3600
    title = _("Not checked in after transfer: ")
    body = _("Dispatched more than %(h)g hours ago and not checked in at the site.") % {"h": hours}
    created = connection.ops.adapt_datetimefield_value(now)
    total = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for path, join, suffix in (
            ("t.jpath", "", ""),
            (
                # The site's node hears of it too, unless it is the checkpoint's own node.
                "st.jpath",
                "JOIN control_site st ON st.id = t.site_id AND st.jpath <> t.jpath",
                ":site",
            ),
        ):
            cursor.execute(
                _LOST_SQL.format(path=path, join=join, suffix=suffix),
                [Alert.Level.CRITICAL, title, body, created, due],
            )
            total += max(cursor.rowcount, 0)
    return total
