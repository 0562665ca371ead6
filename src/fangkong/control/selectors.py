"""Reads of the control module, scoped to the actor's jurisdiction first."""

from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from fangkong.common import paths
from fangkong.common.scope import access, scoped
from fangkong.geo.models import Jurisdiction
from fangkong.geo.selectors import actor_node  # noqa: F401  (the views' selectors.actor_node)
from fangkong.people.models import Person

from .models import (
    ControlOrder,
    Floor,
    HealthCheck,
    JurisdictionSetting,
    Measure,
    OrderStep,
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


_BOARD_SQL = """
SELECT {child} AS child, o.measure, COUNT(*),
       SUM(CASE WHEN o.start_date <= %s AND o.end_date >= %s AND h.id IS NULL THEN 1 ELSE 0 END),
       COUNT(t.id)
FROM control_controlorder o
LEFT JOIN control_healthcheck h ON h.order_id = o.id AND h.day = %s
LEFT JOIN control_controltest t
       ON t.order_id = o.id AND t.scheduled_date = %s AND t.result = 'pending'
WHERE o.status = 'open' AND o.jpath LIKE %s ESCAPE '\\'
GROUP BY 1, 2
"""
# An order has at most one check a day and one test a date (unique (order, day) on both, and
# a test's date follows from its day), so the joins never multiply an order's row.


def under_control_q(day, *, prefix: str = "") -> Q:
    """The one definition of "under control on `day`" (the daily report, the HQ dashboard and
    the control board all count it), as a filter on OrderStep (``prefix`` for a relation to it).

    A person is under control on a day when a step of their order is in force that day, the
    order was not cancelled, and it was not released before the end of the day — or before now,
    for today: so today's figure is the people under control now, what the board shows, and a
    past day's is the people still under control at its end. The step in force gives the
    measure: an order's steps follow one another without overlap, so counting steps counts
    people. (The board used to count open orders by their stored measure, which includes orders
    past their last day and lags a day behind a step change: 252 against the report's 139.)"""
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    cutoff = min(end, timezone.now())
    p = prefix
    return (
        Q(**{f"{p}start_date__lte": day, f"{p}end_date__gte": day})
        & ~Q(**{f"{p}order__status": ControlOrder.Status.CANCELLED})
        & (
            Q(**{f"{p}order__released_at__isnull": True})
            | Q(**{f"{p}order__released_at__gte": cutoff})
        )
    )


def under_control_by_child(*, node: Jurisdiction, day) -> dict[str, dict[str, int]]:
    """People under each measure on `day` per child code of the node (one GROUP BY)."""
    from django.db.models import Value
    from django.db.models.functions import Greatest, StrIndex, Substr

    rest = Substr("order__jpath", len(node.path) + 1)
    child = Substr(rest, 1, Greatest(StrIndex(rest, Value("/")) - 1, Value(0)))
    out: dict[str, dict[str, int]] = {}
    rows = (
        OrderStep.objects.filter(under_control_q(day), order__jpath__startswith=node.path)
        .annotate(child=child)
        .values_list("child", "measure")
        .annotate(n=Count("id"))
        .order_by()
    )
    for code, measure, n in rows:
        out.setdefault(code, {})[measure] = out.get(code, {}).get(measure, 0) + n
    return out


def control_board(*, actor, node: Jurisdiction, day=None) -> dict:
    """People under each measure, due tests and missed checks, per child of the node.

    One scan of the subtree's open orders, hash-joined to the day's tests and yesterday's
    checks (three separate GROUP BYs took ~0.5 s for 200,000 orders of a 10-million city)."""
    day = day or timezone.localdate()
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

    start = len(node.path) + 1
    if connection.vendor == "postgresql":
        child = f"SUBSTR(o.jpath, {start}, GREATEST(STRPOS(SUBSTR(o.jpath, {start}), '/') - 1, 0))"
    else:
        child = f"SUBSTR(o.jpath, {start}, MAX(INSTR(SUBSTR(o.jpath, {start}), '/') - 1, 0))"
    yesterday = connection.ops.adapt_datefield_value(day - timedelta(days=1))
    today = connection.ops.adapt_datefield_value(day)
    prefix = node.path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            _BOARD_SQL.format(child=child), [yesterday, yesterday, yesterday, today, prefix]
        )
        for code, _measure, _n, missed, due in cursor.fetchall():
            add(code, "missed", int(missed or 0))
            add(code, "due_tests", int(due or 0))
    # The people under each measure: the definition the daily report and dashboard use.
    for code, measures in under_control_by_child(node=node, day=day).items():
        for measure, n in measures.items():
            add(code, measure, n)
            add(code, "total", n)
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
    """Rooms per 10,000 residents against the target, and days until rooms run out."""
    today = today or timezone.localdate()
    rooms = Room.objects.filter(site__jpath__startswith=node.path, site__active=True).exclude(
        state=Room.State.OUT_OF_SERVICE
    )
    counts = rooms.aggregate(total=Count("id"), free=Count("id", filter=Q(state=Room.State.VACANT)))
    # The declared population where the tree has one (counting a 10-million registry takes
    # ~0.6 s); the registry count otherwise.
    residents = node.population or Person.objects.filter(jpath__startswith=node.path).count()
    setting = (
        JurisdictionSetting.objects.filter(path__in=paths.ancestors(node.path))
        .order_by("-path")
        .first()
    )
    since = timezone.now() - timedelta(days=3)
    sites = list(Site.objects.filter(jpath__startswith=node.path).values_list("id", flat=True))
    intake = Stay.objects.filter(room__site_id__in=sites, checked_in_at__gte=since).count()
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


ROOMS_PER_PAGE = 200


def room_board(
    *,
    site: Site,
    page=1,
    floor: int | None = None,
    state: str | None = None,
    per_page=ROOMS_PER_PAGE,
):
    """One page of the site's rooms, top floor first (a 600-room hotel is three pages, not one
    wall); `floor` and `state` narrow it. Returns (page, [(floor number, [room])])."""
    from django.core.paginator import Paginator

    rooms = Room.objects.filter(site=site).select_related("floor")
    if floor is not None:
        rooms = rooms.filter(floor__number=floor)
    if state in Room.State.values:
        rooms = rooms.filter(state=state)
    current = Paginator(rooms.order_by("-floor__number", "number", "id"), per_page).get_page(page)
    floors: dict[int, list[Room]] = {}
    for room in current:
        floors.setdefault(room.floor.number, []).append(room)
    return current, list(floors.items())


def floor_numbers(*, site: Site) -> list[int]:
    return list(
        Floor.objects.filter(site=site).order_by("-number").values_list("number", flat=True)
    )


def room_occupants_of(rooms: list[Room]) -> dict[int, ControlOrder]:
    """room id -> the open order in it (the first, for a family room), for one page of rooms."""
    occupants: dict[int, ControlOrder] = {}
    for order in (
        ControlOrder.objects.filter(room__in=[r.pk for r in rooms], status=ControlOrder.Status.OPEN)
        .select_related("person")
        .order_by("id")
    ):
        occupants.setdefault(order.room_id, order)
    return occupants


def room_occupants(*, site: Site) -> dict[int, ControlOrder]:
    """room id -> the open order in it (the first, for a family room), for the room board."""
    occupants: dict[int, ControlOrder] = {}
    for order in (
        ControlOrder.objects.filter(room__site=site, status=ControlOrder.Status.OPEN)
        .select_related("person")
        .order_by("id")
    ):
        occupants.setdefault(order.room_id, order)
    return occupants
