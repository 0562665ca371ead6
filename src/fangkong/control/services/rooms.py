"""Writes of the control module: isolation sites and rooms."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection, transaction
from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_created, audit_fields, audit_record
from fangkong.common import events, paths
from fangkong.common.scope import require
from fangkong.common.states import place_state_set

from .. import roles
from ..models import ControlOrder, Measure, Room, Site, Stay
from ._common import Conflict, ControlError, NoRoom


def site_create(
    *,
    actor,
    code,
    name,
    jurisdiction,
    kind="hotel",
    address="",
    floors: int = 1,
    rooms_per_floor: int = 10,
    family_rooms: int = 0,
    reserve_target: int = 0,
) -> Site:
    """A site with its floors and rooms numbered floor*100+n (e.g. 301..330)."""
    if floors < 1 or rooms_per_floor < 1 or rooms_per_floor > 99:
        raise ControlError(_("A site needs at least one floor with 1 to 99 rooms."))
    from ..models import Floor

    with transaction.atomic():
        site = Site.objects.create(
            code=code,
            name=name,
            kind=kind,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            address=address,
            capacity=floors * rooms_per_floor,
            reserve_target=reserve_target,
        )
        floor_objs = Floor.objects.bulk_create(
            Floor(site=site, number=n) for n in range(1, floors + 1)
        )
        Room.objects.bulk_create(
            Room(site=site, floor=f, number=f"{f.number}{n:02d}", family_allowed=n <= family_rooms)
            for f in floor_objs
            for n in range(1, rooms_per_floor + 1)
        )
        audit_created(
            actor=actor, obj=site, fields={"code": code, "name": name, "capacity": site.capacity}
        )
    return site


def _take_rooms(district: str, city: str, n: int, site: Site | None = None) -> list[int]:
    """Lock up to n vacant rooms, same district first, then the rest of the city (or only those
    of `site`); rooms locked by a concurrent assignment are skipped rather than waited for."""
    qs = Room.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        state=Room.State.VACANT, site__active=True
    )
    qs = (
        (qs.filter(site=site) if site is not None else qs.filter(site__jpath__startswith=city))
        .annotate(
            near=Case(
                When(site__jpath__startswith=district, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("near", "site__code", "floor__number", "number")
    )
    return list(qs.values_list("id", flat=True)[:n])


def _set_rooms(pairs: list[tuple[int, int]]) -> None:
    """order.room = room for every pair in one statement (bulk_update's CASE per row costs
    seconds of Python for 10,000 orders)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE control_controlorder o SET room_id = v.room_id "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, room_id) WHERE o.id = v.id",
                [[o for o, _r in pairs], [r for _o, r in pairs]],
            )
        return
    ControlOrder.objects.bulk_update(
        [ControlOrder(pk=o, room_id=r) for o, r in pairs], ["room"], batch_size=500
    )


def rooms_assign_open(*, actor) -> dict:
    """Rooms for every open centralized order of the actor's subtree that has none: the isolation
    desk's own request, so the desk's role decides (rooms_assign_batch serves the other modules)."""
    from .. import selectors

    require(actor, roles.can_manage_rooms)
    orders = selectors.order_list(actor=actor).filter(
        measure=Measure.CENTRALIZED, room__isnull=True
    )
    return rooms_assign_batch(actor=actor, orders=list(orders.values_list("id", flat=True)))


def rooms_assign_batch(*, actor, orders, site: Site | None = None) -> dict:
    """Give every order under centralized isolation without a room a room, in a few statements;
    with `site`, rooms of that site only (a closed-loop transfer's drop-off)."""
    now = timezone.now()
    with transaction.atomic():
        ids = [o.pk if hasattr(o, "pk") else o for o in orders]
        todo = list(
            ControlOrder.objects.select_for_update()
            .filter(
                pk__in=ids,
                status=ControlOrder.Status.OPEN,
                measure=Measure.CENTRALIZED,
                room__isnull=True,
            )
            .order_by("id")
            .values_list("id", "jpath")
        )
        groups = defaultdict(list)
        for order_id, jpath in todo:
            groups[(paths.prefix(jpath, 3), paths.prefix(jpath, 2))].append(order_id)
        pairs = []
        for (district, city), order_ids in sorted(groups.items()):
            rooms = _take_rooms(district, city, len(order_ids), site)
            # Occupied at once: the row locks do not hide these rooms from the next group's
            # query in this same transaction, only their state does.
            taken = Room.objects.filter(pk__in=rooms, state=Room.State.VACANT).update(
                state=Room.State.OCCUPIED
            )
            if taken != len(rooms):
                raise Conflict(_("Rooms changed while assigning; try again."))
            pairs += list(zip(order_ids, rooms, strict=False))
        if not pairs:
            if todo and site is not None:
                raise NoRoom(_("No vacant room at %s.") % site.name, code="no_room_at_site")
            if todo:
                raise NoRoom(_("No vacant isolation room in the city."))
            return {"assigned": 0, "unassigned": 0}
        _set_rooms(pairs)
        Stay.objects.bulk_create(
            [Stay(order_id=o, room_id=r, assigned_at=now) for o, r in pairs], batch_size=2000
        )
        path_of = dict(todo)
        who = audit_fields(actor)
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    **who,
                    action=Action.UPDATE,
                    object_type="control.controlorder",
                    object_id=str(o),
                    object_repr=f"control order #{o}",
                    jurisdiction_path=path_of[o],
                    changes={"room": [None, r]},
                )
                for o, r in pairs
            ],
            batch_size=2000,
        )
    return {"assigned": len(pairs), "unassigned": len(todo) - len(pairs)}


def room_assign(*, actor, order: ControlOrder, with_order: ControlOrder | None = None) -> Room:
    """One room for one order; with_order puts a child or elder in their carer's family room."""
    if with_order is not None:
        with transaction.atomic():
            room = (
                Room.objects.select_for_update().get(pk=with_order.room_id)
                if with_order.room_id
                else None
            )
            if room is None or not room.family_allowed:
                raise ControlError(_("The carer has no room that allows a family."))
            ControlOrder.objects.filter(pk=order.pk).update(room=room)
            Stay.objects.create(order=order, room=room, assigned_at=timezone.now())
            audit_record(
                actor=actor, action=Action.UPDATE, obj=order, changes={"room": [None, room.pk]}
            )
        order.refresh_from_db()
        return room
    if order.measure != Measure.CENTRALIZED:
        raise ControlError(_("Only centralized isolation needs a room."))
    if order.room_id:
        raise Conflict(_("The order already has a room."))
    result = rooms_assign_batch(actor=actor, orders=[order])
    if not result["assigned"]:
        raise NoRoom(_("No vacant isolation room in the city."))
    order.refresh_from_db()
    return order.room


def room_check_in(*, actor, order: ControlOrder) -> Stay:
    with transaction.atomic():
        stay = (
            Stay.objects.select_for_update().filter(order=order, checked_in_at__isnull=True).last()
        )
        if stay is None or order.room_id != stay.room_id:
            raise ControlError(_("No room is waiting for this person."))
        stay.checked_in_at = timezone.now()
        stay.save(update_fields=["checked_in_at"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=order,
            changes={"checked_in": [None, stay.room_id]},
        )
    return stay


def _check_out(actor, order):
    now = timezone.now()
    Stay.objects.filter(order=order, room_id=order.room_id, checked_out_at__isnull=True).update(
        checked_out_at=now
    )
    others = ControlOrder.objects.filter(room_id=order.room_id).exclude(pk=order.pk).exists()
    if not others:
        Room.objects.filter(pk=order.room_id).update(state=Room.State.CLEANING)
    audit_record(
        actor=actor, action=Action.UPDATE, obj=order, changes={"checked_out": [order.room_id, None]}
    )
    order.room = None


def control_order_cancel(*, actor, order: ControlOrder, reason: str) -> ControlOrder:
    """End an open order without release (e.g. the person became a case and went to hospital);
    their room, if any, is checked out."""
    with transaction.atomic():
        order = ControlOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != ControlOrder.Status.OPEN:
            raise ControlError(_("The order is not open."), code="order_not_open")
        if order.room_id:
            _check_out(actor, order)
        order.status = ControlOrder.Status.CANCELLED
        order.reason = (f"{order.reason}; {reason}" if order.reason else reason)[:200]
        order.save(update_fields=["status", "reason", "room"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=order,
            changes={"status": ["open", "cancelled"], "reason": [None, reason]},
        )
        events.publish("control.order_cancelled", order_id=order.pk, person_id=order.person_id)
    return order


def room_check_out(*, actor, order: ControlOrder) -> ControlOrder:
    if not order.room_id:
        raise ControlError(_("The person has no room."))
    with transaction.atomic():
        _check_out(actor, order)
        order.save(update_fields=["room"])
    return order


def room_state_set(*, actor, room: Room, state: str) -> Room:
    """Cleaning done (cleaning → vacant), or a room taken out of / back into service."""
    return place_state_set(
        actor=actor,
        place=room,
        state=state,
        jpath=room.site.jpath,
        refused=lambda a, b: ControlError(
            _("A room cannot go from %(a)s to %(b)s.") % {"a": a, "b": b}
        ),
        changed=lambda: Conflict(_("The room changed meanwhile; reload.")),
    )


def room_walk_in(*, actor, room: Room, person, category: str = "") -> Stay:
    """A person who arrives at the site without a transfer, checked into the room the desk chose
    on the room board: their open centralized order without a room, or a new order of
    `category` that puts them under centralized isolation today."""
    from .orders import control_order_open

    require(actor, roles.can_manage_rooms)
    with transaction.atomic():
        room = Room.objects.select_for_update().select_related("site").get(pk=room.pk)
        if room.state != Room.State.VACANT or not room.site.active:
            raise Conflict(_("Room %s is not vacant.") % room.number, code="room_not_vacant")
        order = (
            ControlOrder.objects.select_for_update()
            .filter(person=person, status=ControlOrder.Status.OPEN)
            .first()
        )
        if order is None:
            if not category:
                raise ControlError(
                    _("%s is not under control: choose the reason for isolation.") % person.name,
                    code="category_required",
                )
            order = control_order_open(
                actor=actor,
                person=person,
                category=category,
                start=timezone.now(),
                reason=_("Walk-in at %s") % room.site.name,
                source="walk_in",
            )
        if order.measure != Measure.CENTRALIZED:
            raise ControlError(
                _("%(name)s is under %(measure)s, not centralized isolation.")
                % {"name": person.name, "measure": order.get_measure_display()},
                code="not_centralized",
            )
        if order.room_id:
            raise Conflict(
                _("%(name)s already has room %(room)s.")
                % {"name": person.name, "room": order.room.number},
                code="order_has_room",
            )
        now = timezone.now()
        Room.objects.filter(pk=room.pk).update(state=Room.State.OCCUPIED)
        ControlOrder.objects.filter(pk=order.pk).update(room=room)
        stay = Stay.objects.create(order=order, room=room, assigned_at=now, checked_in_at=now)
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=order,
            changes={
                "room": [None, room.pk],
                "checked_in": [None, room.pk],
                "walk_in": [None, True],
            },
        )
    return stay


def walk_in_categories() -> list[tuple[str, str]]:
    """The reasons a walk-in may be isolated for (a released person is not isolated again)."""
    from ..models import Category

    return [(c.value, c.label) for c in Category if c != Category.RELEASED]
