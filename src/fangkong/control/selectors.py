"""Reads of the control module, scoped to the actor's jurisdiction first."""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Greatest, StrIndex, Substr
from django.utils import timezone

from fangkong.common.scope import access, operator_or_actor_path, scoped
from fangkong.geo.models import Jurisdiction
from fangkong.people.models import Person

from .models import (
    ControlOrder,
    ControlTest,
    HealthCheck,
    JurisdictionSetting,
    Measure,
    Room,
    Site,
    Stay,
)


def _scoped(qs, actor, field):
    return qs if actor is None else scoped(qs, actor, field)


def order_list(*, actor, status: str | None = "open") -> QuerySet[ControlOrder]:
    qs = _scoped(ControlOrder.objects.all(), actor, "jpath").select_related(
        "person", "person__grid", "room__site", "policy"
    )
    return qs.filter(status=status) if status else qs


def access_order(actor, pk) -> ControlOrder:
    return access(
        ControlOrder.objects.select_related("person", "policy", "room__site"), actor, "jpath", pk=pk
    )


def site_list(*, actor) -> QuerySet[Site]:
    return _scoped(Site.objects.all(), actor, "jpath")


def access_site(actor, pk) -> Site:
    return access(Site.objects.all(), actor, "jpath", pk=pk)


def access_room(actor, pk) -> Room:
    return access(Room.objects.select_related("site"), actor, "site__jpath", pk=pk)


def check_list(*, actor, day=None) -> QuerySet[ControlOrder]:
    """The grid worker's list for the day: open orders in force, with today's check if any."""
    day = day or timezone.localdate()
    return (
        order_list(actor=actor)
        .filter(start_date__lte=day, end_date__gte=day)
        .order_by("person__name", "id")
    )


def checks_for(order_ids, day) -> dict:
    return {h.order_id: h for h in HealthCheck.objects.filter(order_id__in=order_ids, day=day)}


def _child_code(field: str, node_path: str):
    """The code of the child of `node_path` a path lies under, computed in SQL."""
    rest = Substr(field, len(node_path) + 1)
    # Greatest: an order at the node itself has no child; PostgreSQL refuses a negative length.
    return Substr(rest, 1, Greatest(StrIndex(rest, Value("/")) - 1, Value(0)))


def control_board(*, actor, node: Jurisdiction, day=None) -> dict:
    """People under each measure, due tests and missed checks, per child of the node."""
    day = day or timezone.localdate()
    orders = ControlOrder.objects.filter(status="open", jpath__startswith=node.path)
    children = {c.code: c for c in node.children.all()}
    rows = {
        code: {"node": c, "total": 0, "due_tests": 0, "missed": 0, **{m: 0 for m in Measure.values}}
        for code, c in children.items()
    }
    total = {"total": 0, "due_tests": 0, "missed": 0, **{m: 0 for m in Measure.values}}

    def add(code, key, n):
        if code in rows:
            rows[code][key] += n
        total[key] += n

    for code, measure, n in (
        orders.annotate(child=_child_code("jpath", node.path))
        .values_list("child", "measure")
        .annotate(n=Count("id"))
        .order_by()
    ):
        add(code, measure, n)
        add(code, "total", n)
    for code, n in (
        ControlTest.objects.filter(
            scheduled_date=day,
            result=ControlTest.Result.PENDING,
            order__status="open",
            order__jpath__startswith=node.path,
        )
        .annotate(child=_child_code("order__jpath", node.path))
        .values_list("child")
        .annotate(n=Count("id"))
        .order_by()
    ):
        add(code, "due_tests", n)
    yesterday = day - timedelta(days=1)
    for code, n in (
        orders.filter(start_date__lte=yesterday, end_date__gte=yesterday)
        .exclude(checks__day=yesterday)
        .annotate(child=_child_code("jpath", node.path))
        .values_list("child")
        .annotate(n=Count("id"))
        .order_by()
    ):
        add(code, "missed", n)
    return {
        "node": node,
        "day": day,
        "children": sorted(rows.values(), key=lambda r: r["node"].code),
        "total": total,
    }


def site_occupancy(*, actor) -> dict:
    """Rooms by state per site of the actor's subtree, and the sum."""
    states = Room.State.values
    sites = []
    for row in (
        _scoped(Site.objects.all(), actor, "jpath")
        .annotate(**{s: Count("rooms", filter=Q(rooms__state=s)) for s in states})
        .values("id", "code", "name", "jpath", *states)
        .order_by("code")
    ):
        row["free"] = row[Room.State.VACANT]
        sites.append(row)
    total = {s: sum(r[s] for r in sites) for s in states}
    total["free"] = total[Room.State.VACANT]
    return {"sites": sites, "total": total}


def _one_decimal(x) -> Decimal:
    return Decimal(x).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def reserve(*, node: Jurisdiction, today=None) -> dict:
    """Rooms per 10,000 registered residents against the target, and days until rooms run out."""
    today = today or timezone.localdate()
    rooms = Room.objects.filter(site__jpath__startswith=node.path, site__active=True).exclude(
        state=Room.State.OUT_OF_SERVICE
    )
    counts = rooms.aggregate(total=Count("id"), free=Count("id", filter=Q(state=Room.State.VACANT)))
    residents = Person.objects.filter(jpath__startswith=node.path).count()
    parts = [p for p in node.path.split("/") if p]
    ancestors = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
    setting = JurisdictionSetting.objects.filter(path__in=ancestors).order_by("-path").first()
    since = timezone.now() - timedelta(days=3)
    intake = Stay.objects.filter(
        room__site__jpath__startswith=node.path, checked_in_at__gte=since
    ).count()
    per_day = _one_decimal(Decimal(intake) / 3)
    per_10k = _one_decimal(Decimal(counts["total"]) * 10000 / residents) if residents else None
    return {
        "node": node,
        "rooms": counts["total"],
        "free": counts["free"],
        "residents": residents,
        "per_10k": per_10k,
        "target": setting.reserve_target if setting else 20,
        "intake_per_day": per_day,
        "days_left": _one_decimal(Decimal(counts["free"]) / (Decimal(intake) / 3))
        if intake
        else None,
    }


def room_board(*, site: Site) -> list[tuple[int, list[Room]]]:
    floors: dict[int, list[Room]] = {}
    for room in (
        Room.objects.filter(site=site).select_related("floor").order_by("floor__number", "number")
    ):
        floors.setdefault(room.floor.number, []).append(room)
    return sorted(floors.items(), reverse=True)


def actor_node(actor) -> Jurisdiction | None:
    if getattr(actor, "jurisdiction", None) is not None:
        return actor.jurisdiction
    if operator_or_actor_path(actor) == "/":
        return Jurisdiction.objects.filter(parent__isnull=True).order_by("path").first()
    return None
