"""Supplies reads, scoped to the actor's subtree: warehouses, ledger, requests, days of cover."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, CharField, QuerySet, Sum, Value, When
from django.http import Http404

from fangkong.common.scope import access, operator_or_actor_path, path_within, scoped
from fangkong.geo.models import Jurisdiction

from .models import (
    Balance,
    Enterprise,
    Item,
    Movement,
    OutputReport,
    SupplyRequest,
    Warehouse,
)
from .services import CONSUMPTION_DAYS, shortage_threshold_days


def _scoped(qs: QuerySet, actor) -> QuerySet:
    # actor None is the operator at the command line (benchmarks, jobs): the whole tree.
    return qs if actor is None else scoped(qs, actor)


def item_list() -> QuerySet[Item]:
    return Item.objects.filter(active=True)


def warehouse_list(*, actor) -> QuerySet[Warehouse]:
    return _scoped(Warehouse.objects.select_related("jurisdiction"), actor)


def access_warehouse(actor, code: str) -> Warehouse:
    return access(Warehouse.objects.select_related("jurisdiction"), actor, code=code)


def access_warehouse_id(actor, pk: int) -> Warehouse:
    return access(Warehouse.objects.select_related("jurisdiction"), actor, pk=pk)


def movement_list(*, actor, warehouse: Warehouse | None = None) -> QuerySet[Movement]:
    qs = _scoped(Movement.objects.select_related("item", "warehouse"), actor)
    return qs.filter(warehouse=warehouse) if warehouse is not None else qs


def balance_list(*, actor, warehouse: Warehouse | None = None) -> QuerySet[Balance]:
    qs = _scoped(Balance.objects.select_related("item", "warehouse"), actor)
    return qs.filter(warehouse=warehouse) if warehouse is not None else qs


def enterprise_list(*, actor) -> QuerySet[Enterprise]:
    return _scoped(Enterprise.objects.select_related("jurisdiction"), actor)


def access_enterprise(actor, pk: int) -> Enterprise:
    return access(Enterprise.objects.all(), actor, pk=pk)


def output_list(*, actor) -> QuerySet[OutputReport]:
    return _scoped(OutputReport.objects.select_related("enterprise", "item"), actor)


def request_list(*, actor) -> QuerySet[SupplyRequest]:
    return _scoped(
        SupplyRequest.objects.select_related("jurisdiction", "item", "deliver_to"), actor
    )


def access_request(actor, pk: int) -> SupplyRequest:
    return access(
        SupplyRequest.objects.select_related("jurisdiction", "item", "deliver_to"), actor, pk=pk
    )


def access_node(actor, code: str | None) -> Jurisdiction:
    """The node asked for (default: the actor's own), 404 outside the actor's subtree."""
    if not code:
        node = getattr(actor, "jurisdiction", None)
        if node is None:
            node = Jurisdiction.objects.order_by("depth", "path").first()
    else:
        node = Jurisdiction.objects.filter(code=code).first()
    prefix = operator_or_actor_path(actor)
    if node is None or prefix is None or not (prefix == "/" or path_within(actor, node.path)):
        raise Http404
    return node


def _cover(stock: int, daily_use: float) -> float | None:
    # No consumption means the stock lasts indefinitely: None stands for infinity.
    return round(stock / daily_use, 1) if daily_use > 0 else None


def cover_table(
    *, actor, node: Jurisdiction, today: dt.date, threshold: float | None = None
) -> dict:
    """Stock, mean daily use and days of cover per item, for `node` and each of its children, in
    two GROUP BY queries over the subtree (balances, and issues of the last 7 complete days).

    Daily use is the mean of the issues on the seven days before `today`; transfers are moves,
    not use. Days of cover = stock ÷ daily use, None when nothing was used."""
    if actor is not None and not path_within(actor, node.path):
        raise Http404
    threshold = shortage_threshold_days() if threshold is None else threshold
    children = list(Jurisdiction.objects.filter(parent=node).order_by("path"))
    # Label each row with the child it lies under ("" = held at the node itself).
    child = Case(
        *[When(jpath__startswith=c.path, then=Value(c.path)) for c in children],
        default=Value(""),
        output_field=CharField(),
    )
    stock = (
        Balance.objects.filter(jpath__startswith=node.path)
        .annotate(child=child)
        .order_by()
        .values("child", "item_id")
        .annotate(total=Sum("quantity"))
    )
    since = today - dt.timedelta(days=CONSUMPTION_DAYS)
    used = (
        Movement.objects.filter(
            kind=Movement.Kind.ISSUE, day__gte=since, day__lt=today, jpath__startswith=node.path
        )
        .annotate(child=child)
        .order_by()
        .values("child", "item_id")
        .annotate(total=Sum("quantity"))
    )
    stocks: dict[tuple[str, int], int] = {}
    uses: dict[tuple[str, int], int] = {}
    for row in stock:
        stocks[(row["child"], row["item_id"])] = row["total"] or 0
    for row in used:
        uses[(row["child"], row["item_id"])] = -(row["total"] or 0)
    items = {item.pk: item for item in Item.objects.all()}
    by_path = {c.path: c for c in children}

    def make(place: Jurisdiction, item: Item, quantity: int, issued: int) -> dict:
        daily = round(issued / CONSUMPTION_DAYS, 1)
        days = _cover(quantity, issued / CONSUMPTION_DAYS)
        return {
            "node_code": place.code,
            "node_name": place.name,
            "node_path": place.path,
            "item_id": item.pk,
            "item_code": item.code,
            "item_name": item.name,
            "unit": item.unit,
            "stock": quantity,
            "daily_use": daily,
            "days_of_cover": days,
            "short": days is not None and days < threshold,
        }

    keys = set(stocks) | set(uses)
    item_ids = sorted({i for _c, i in keys}, key=lambda i: (items[i].category, items[i].code))
    total = [
        make(
            node,
            items[i],
            sum(q for (c, j), q in stocks.items() if j == i),
            sum(q for (c, j), q in uses.items() if j == i),
        )
        for i in item_ids
    ]
    rows = [
        make(by_path[c], items[i], stocks.get((c, i), 0), uses.get((c, i), 0))
        for c in by_path
        for i in item_ids
        if (c, i) in keys
    ]
    return {"node": node, "children": children, "total": total, "rows": rows}
