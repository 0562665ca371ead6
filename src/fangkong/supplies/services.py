"""Supplies writes: the catalogue, the stock ledger with its balances, output reports, requests."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record, audit_updated
from fangkong.common import errors
from fangkong.common.alerts import alert_raise
from fangkong.common.models import Alert
from fangkong.common.scope import path_within, require
from fangkong.geo.models import Jurisdiction, Level

from . import roles
from .models import (
    Allocation,
    Balance,
    Capacity,
    Category,
    Enterprise,
    Item,
    Movement,
    OutputReport,
    SupplyRequest,
    Warehouse,
)


class SupplyError(errors.DomainError, ValueError):
    """A refused write; the message is shown to the user as it is."""


class InsufficientStock(SupplyError, errors.Conflict):
    code = "insufficient_stock"


# (code, name, English name, category, grade, unit): the shipped catalogue.
DEFAULT_ITEMS = [
    ("MASK-SURG", "医用外科口罩", "Surgical mask", Category.PROTECTION, "YY 0469", "只"),
    ("MASK-N95", "N95/KN95口罩", "N95/KN95 respirator", Category.PROTECTION, "N95/KN95", "只"),
    ("SUIT", "医用防护服", "Protective suit", Category.PROTECTION, "GB 19082", "套"),
    ("GLOVE", "医用手套", "Medical gloves", Category.PROTECTION, "", "副"),
    ("FACESHIELD", "护目镜/面屏", "Goggles / face shield", Category.PROTECTION, "", "个"),
    ("TEST-KIT", "核酸检测试剂盒", "Nucleic-acid test kit", Category.TESTING, "", "人份"),
    ("REAGENT", "核酸提取试剂", "Extraction reagent", Category.TESTING, "", "人份"),
    ("ANTIGEN", "抗原检测试剂", "Antigen test", Category.TESTING, "", "人份"),
    ("SWAB", "采样拭子", "Sampling swab", Category.TESTING, "", "支"),
    ("TUBE", "采样管", "Sampling tube", Category.TESTING, "", "支"),
    ("THERMO", "体温计", "Thermometer", Category.MEDICAL, "", "支"),
    ("THERMO-IR", "红外测温仪", "Infrared thermometer", Category.MEDICAL, "", "台"),
    ("DISINF", "消毒液", "Disinfectant", Category.DISINFECTION, "84", "升"),
    ("ALCOHOL", "75%酒精", "75% alcohol", Category.DISINFECTION, "75%", "升"),
    ("RICE", "大米", "Rice", Category.NECESSITIES, "", "公斤"),
    ("VEG", "蔬菜", "Vegetables", Category.NECESSITIES, "", "公斤"),
    ("OIL", "食用油", "Cooking oil", Category.NECESSITIES, "", "升"),
    ("MEAT", "猪肉", "Pork", Category.NECESSITIES, "", "公斤"),
    ("EGG", "鸡蛋", "Eggs", Category.NECESSITIES, "", "公斤"),
    ("NOODLE", "方便面", "Instant noodles", Category.NECESSITIES, "", "箱"),
]

CONSUMPTION_DAYS = 7


def shortage_threshold_days() -> float:
    return float(settings.FANGKONG_SUPPLY_SHORTAGE_DAYS)


def supply_items_ensure() -> int:
    """Create the shipped catalogue items that are missing; returns how many were created."""
    existing = set(Item.objects.values_list("code", flat=True))
    missing = [
        Item(code=code, name=name, name_en=en, category=cat, grade=grade, unit=unit)
        for code, name, en, cat, grade, unit in DEFAULT_ITEMS
        if code not in existing
    ]
    Item.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def _require_scope(actor, path: str) -> None:
    if actor is not None and not path_within(actor, path):
        raise SupplyError(_("This node is outside your jurisdiction."), code="outside_jurisdiction")


def warehouse_create(
    *, actor, code: str, name: str, jurisdiction: Jurisdiction, kind: str, address: str = ""
) -> Warehouse:
    _require_scope(actor, jurisdiction.path)
    if kind not in Warehouse.Kind.values:
        raise SupplyError(_("Unknown warehouse kind: %(kind)s") % {"kind": kind})
    if Warehouse.objects.filter(code=code).exists():
        raise SupplyError(_("A warehouse with code %(code)s exists.") % {"code": code})
    with transaction.atomic():
        warehouse = Warehouse.objects.create(
            code=code,
            name=name,
            address=address,
            kind=kind,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
        )
        audit_created(actor=actor, obj=warehouse, fields={"code": code, "name": name, "kind": kind})
    return warehouse


# --------------------------------------------------------------------------- the ledger


def _quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise SupplyError(
            _("The quantity must be a positive whole number."), code="invalid_quantity"
        )
    return quantity


def _ensure_balance(warehouse: Warehouse, item: Item) -> None:
    # Insert-if-missing without a read: a concurrent creator of the same row is not an error.
    Balance.objects.bulk_create(
        [Balance(warehouse=warehouse, item=item, jpath=warehouse.jpath, quantity=0)],
        ignore_conflicts=True,
    )


def _add(warehouse: Warehouse, item: Item, delta: int) -> None:
    _ensure_balance(warehouse, item)
    Balance.objects.filter(warehouse=warehouse, item=item).update(
        quantity=F("quantity") + delta, updated_at=timezone.now()
    )


def _take(warehouse: Warehouse, item: Item, quantity: int) -> None:
    """Decrease a balance only if enough is there. The conditional UPDATE takes the row lock and
    re-checks the condition after a concurrent writer commits, so two racers for the last units
    cannot both pass."""
    taken = Balance.objects.filter(warehouse=warehouse, item=item, quantity__gte=quantity).update(
        quantity=F("quantity") - quantity, updated_at=timezone.now()
    )
    if not taken:
        have = (
            Balance.objects.filter(warehouse=warehouse, item=item)
            .values_list("quantity", flat=True)
            .first()
            or 0
        )
        raise InsufficientStock(
            _(
                "Not enough %(item)s in %(warehouse)s: %(have)s %(unit)s in stock, "
                "%(asked)s asked for."
            )
            % {
                "item": item.name,
                "warehouse": warehouse.name,
                "have": have,
                "unit": item.unit,
                "asked": quantity,
            }
        )


def _line(actor, warehouse, item, kind, quantity, day, reason="", reference="", request=None):
    movement = Movement(
        warehouse=warehouse,
        item=item,
        jpath=warehouse.jpath,
        kind=kind,
        quantity=quantity,
        day=day or timezone.localdate(),
        reason=reason,
        reference=reference,
        request=request,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    movement.save()
    audit_record(
        actor=actor,
        action=Action.CREATE,
        obj=movement,
        jurisdiction_path=warehouse.jpath,
        changes={"kind": [None, kind], "item": [None, item.code], "quantity": [None, quantity]},
    )
    return movement


def stock_receive(
    *,
    actor,
    warehouse: Warehouse,
    item: Item,
    quantity: int,
    day: dt.date | None = None,
    reference: str = "",
    reason: str = "",
) -> Movement:
    require(actor, roles.can_manage_stock)
    _require_scope(actor, warehouse.jpath)
    quantity = _quantity(quantity)
    with transaction.atomic():
        _add(warehouse, item, quantity)
        return _line(
            actor, warehouse, item, Movement.Kind.RECEIPT, quantity, day, reason, reference
        )


def stock_issue(
    *,
    actor,
    warehouse: Warehouse,
    item: Item,
    quantity: int,
    day: dt.date | None = None,
    reference: str = "",
    reason: str = "",
    request: SupplyRequest | None = None,
) -> Movement:
    """Issue stock for use; refused when it would take the balance below zero."""
    require(actor, roles.can_manage_stock)
    _require_scope(actor, warehouse.jpath)
    quantity = _quantity(quantity)
    with transaction.atomic():
        _take(warehouse, item, quantity)
        return _line(
            actor, warehouse, item, Movement.Kind.ISSUE, -quantity, day, reason, reference, request
        )


def stock_transfer(
    *,
    actor,
    source: Warehouse,
    destination: Warehouse,
    item: Item,
    quantity: int,
    day: dt.date | None = None,
    reference: str = "",
    request: SupplyRequest | None = None,
) -> tuple[Movement, Movement]:
    """Both sides of a transfer in one transaction: (out of source, into destination).

    Stock moves down or across the actor's own subtree only. Another district gets stock through
    its own supply request (its delivery warehouse, chosen by that district), never by a push
    into a warehouse the sender cannot see: a district could otherwise fill or mislabel a
    neighbour's ledger."""
    require(actor, roles.can_manage_stock)
    _require_scope(actor, source.jpath)
    if request is None or request.deliver_to_id != destination.pk:
        _require_scope(actor, destination.jpath)
    if source.pk == destination.pk:
        raise SupplyError(_("Source and destination are the same warehouse."))
    quantity = _quantity(quantity)
    with transaction.atomic():
        # Touch the two balance rows in warehouse-id order, so opposite transfers cannot deadlock.
        if destination.pk < source.pk:
            _add(destination, item, quantity)
            _take(source, item, quantity)
        else:
            _take(source, item, quantity)
            _add(destination, item, quantity)
        out = _line(
            actor,
            source,
            item,
            Movement.Kind.TRANSFER_OUT,
            -quantity,
            day,
            reason=destination.name,
            reference=reference,
            request=request,
        )
        into = Movement(
            warehouse=destination,
            item=item,
            jpath=destination.jpath,
            kind=Movement.Kind.TRANSFER_IN,
            quantity=quantity,
            day=out.day,
            reason=source.name,
            reference=reference,
            request=request,
            counterpart=out,
            actor=out.actor,
        )
        into.save()
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=into,
            jurisdiction_path=destination.jpath,
            changes={
                "kind": [None, into.kind],
                "item": [None, item.code],
                "quantity": [None, quantity],
            },
        )
    return out, into


def movement_record(
    *,
    actor,
    warehouse: Warehouse,
    kind: str,
    item: Item,
    quantity: int,
    day: dt.date | None = None,
    reference: str = "",
    reason: str = "",
    destination: Warehouse | None = None,
) -> list[Movement]:
    """One entry of the stock ledger, for the page and the API alike: a receipt, an issue, a
    transfer (both its lines) or a stock-take (no line when the count matches the balance)."""
    common = {"actor": actor, "item": item, "day": day}
    if kind == "receipt":
        return [
            stock_receive(
                warehouse=warehouse, quantity=quantity, reference=reference, reason=reason, **common
            )
        ]
    if kind == "issue":
        return [
            stock_issue(
                warehouse=warehouse, quantity=quantity, reference=reference, reason=reason, **common
            )
        ]
    if kind == "transfer":
        if destination is None:
            raise SupplyError(_("Choose the destination warehouse."), code="destination_required")
        return list(
            stock_transfer(
                source=warehouse,
                destination=destination,
                quantity=quantity,
                reference=reference,
                **common,
            )
        )
    line = stock_take_record(warehouse=warehouse, counted=quantity, reason=reason, **common)
    return [line] if line else []


def stock_take_record(
    *,
    actor,
    warehouse: Warehouse,
    item: Item,
    counted: int,
    reason: str,
    day: dt.date | None = None,
) -> Movement | None:
    """Record a stock-take: the difference to the ledger becomes an adjustment line with a reason.
    Returns None when the count matches."""
    require(actor, roles.can_manage_stock)
    _require_scope(actor, warehouse.jpath)
    if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
        raise SupplyError(_("The counted quantity must be zero or a positive whole number."))
    if not reason.strip():
        raise SupplyError(_("A stock-take adjustment needs a reason."), code="reason_required")
    with transaction.atomic():
        _ensure_balance(warehouse, item)
        balance = Balance.objects.select_for_update().get(warehouse=warehouse, item=item)
        delta = counted - balance.quantity
        if delta == 0:
            return None
        Balance.objects.filter(pk=balance.pk).update(
            quantity=F("quantity") + delta, updated_at=timezone.now()
        )
        return _line(actor, warehouse, item, Movement.Kind.ADJUSTMENT, delta, day, reason.strip())


def balances_verify(*, repair: bool = False) -> list[dict]:
    """Recompute every balance from the ledger (one GROUP BY) and report where the kept balance
    differs: [{"warehouse_id", "item_id", "balance", "ledger"}]. With repair, set them right."""
    ledger = {
        (row["warehouse_id"], row["item_id"]): row["total"]
        for row in Movement.objects.order_by()
        .values("warehouse_id", "item_id")
        .annotate(total=Sum("quantity"))
    }
    kept = {
        (w, i): q for w, i, q in Balance.objects.values_list("warehouse_id", "item_id", "quantity")
    }
    drift = [
        {
            "warehouse_id": w,
            "item_id": i,
            "balance": kept.get((w, i)),
            "ledger": ledger.get((w, i), 0),
        }
        for (w, i) in sorted(set(ledger) | set(kept))
        if kept.get((w, i), 0) != ledger.get((w, i), 0)
    ]
    if repair and drift:
        with transaction.atomic():
            paths = dict(Warehouse.objects.values_list("id", "jpath"))
            Balance.objects.bulk_create(
                [
                    Balance(
                        warehouse_id=d["warehouse_id"],
                        item_id=d["item_id"],
                        jpath=paths[d["warehouse_id"]],
                    )
                    for d in drift
                    if d["balance"] is None
                ],
                ignore_conflicts=True,
            )
            rows = {
                (b.warehouse_id, b.item_id): b
                for b in Balance.objects.filter(warehouse_id__in={d["warehouse_id"] for d in drift})
            }
            for d in drift:
                rows[(d["warehouse_id"], d["item_id"])].quantity = d["ledger"]
            Balance.objects.bulk_update(
                [rows[(d["warehouse_id"], d["item_id"])] for d in drift], ["quantity"]
            )
            audit_record(
                actor=None,
                action=Action.UPDATE,
                object_type="supplies.balance",
                object_repr="balances repaired from the ledger",
                changes={"repaired": [None, len(drift)]},
            )
    return drift


# --------------------------------------------------------------------------- enterprises


def enterprise_create(
    *,
    actor,
    code: str,
    name: str,
    jurisdiction: Jurisdiction,
    address: str = "",
    capacities: dict[Item, int] | None = None,
) -> Enterprise:
    _require_scope(actor, jurisdiction.path)
    if Enterprise.objects.filter(code=code).exists():
        raise SupplyError(_("An enterprise with code %(code)s exists.") % {"code": code})
    with transaction.atomic():
        enterprise = Enterprise.objects.create(
            code=code,
            name=name,
            address=address,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
        )
        Capacity.objects.bulk_create(
            [
                Capacity(enterprise=enterprise, item=item, daily_capacity=quantity)
                for item, quantity in (capacities or {}).items()
            ]
        )
        audit_created(actor=actor, obj=enterprise, fields={"code": code, "name": name})
    return enterprise


def enterprise_output_report(
    *, actor, enterprise: Enterprise, item: Item, day: dt.date, quantity: int
) -> tuple[OutputReport, bool]:
    """Report one day's output of one item. The same report again changes nothing; a different
    quantity for the same day corrects it. Returns (report, created)."""
    require(actor, roles.can_report_output)
    _require_scope(actor, enterprise.jpath)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise SupplyError(
            _("The output must be zero or a positive whole number."), code="invalid_quantity"
        )
    if day > timezone.localdate():
        raise SupplyError(_("Output cannot be reported for a future day."))
    user = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        report = (
            OutputReport.objects.select_for_update()
            .filter(enterprise=enterprise, item=item, day=day)
            .first()
        )
        if report is None:
            try:
                with transaction.atomic():
                    report = OutputReport.objects.create(
                        enterprise=enterprise,
                        item=item,
                        jpath=enterprise.jpath,
                        day=day,
                        quantity=quantity,
                        reported_by=user,
                    )
            except IntegrityError:
                # A concurrent identical report won the insert; treat ours as a correction.
                report = OutputReport.objects.select_for_update().get(
                    enterprise=enterprise, item=item, day=day
                )
            else:
                audit_created(
                    actor=actor,
                    obj=report,
                    fields={"item": item.code, "day": day.isoformat(), "quantity": quantity},
                )
                return report, True
        if report.quantity != quantity:
            before = {"quantity": report.quantity}
            report.quantity = quantity
            report.reported_by = user
            report.save(update_fields=["quantity", "reported_by", "reported_at"])
            audit_updated(actor=actor, obj=report, before=before, after={"quantity": quantity})
        return report, False


# --------------------------------------------------------------------------- requests


def supply_request_create(
    *,
    actor,
    jurisdiction: Jurisdiction,
    item: Item,
    quantity: int,
    needed_by: dt.date,
    priority: int = SupplyRequest.Priority.NORMAL,
    deliver_to: Warehouse | None = None,
    note: str = "",
) -> SupplyRequest:
    require(actor, roles.can_request)
    _require_scope(actor, jurisdiction.path)
    quantity = _quantity(quantity)
    if priority not in SupplyRequest.Priority.values:
        raise SupplyError(_("Unknown priority."))
    if deliver_to is not None and not deliver_to.jpath.startswith(jurisdiction.path):
        raise SupplyError(
            _("The delivery warehouse must belong to the requesting unit."),
            code="delivery_outside_unit",
        )
    with transaction.atomic():
        request = SupplyRequest.objects.create(
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            item=item,
            quantity=quantity,
            needed_by=needed_by,
            priority=priority,
            deliver_to=deliver_to,
            note=note,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_created(
            actor=actor,
            obj=request,
            fields={"item": item.code, "quantity": quantity, "needed_by": needed_by.isoformat()},
        )
    return request


def supply_request_allocate(
    *,
    actor,
    request: SupplyRequest,
    warehouse: Warehouse,
    quantity: int,
    day: dt.date | None = None,
) -> Allocation:
    """Allocate part or all of what is still open from one warehouse: a transfer into the unit's
    delivery warehouse, or an issue to the unit when it has none."""
    require(actor, roles.can_manage_stock)
    _require_scope(actor, warehouse.jpath)
    quantity = _quantity(quantity)
    with transaction.atomic():
        request = SupplyRequest.objects.select_for_update().get(pk=request.pk)
        if request.status in (SupplyRequest.Status.FULFILLED, SupplyRequest.Status.CANCELLED):
            raise SupplyError(
                _("The request is %(status)s.") % {"status": request.get_status_display()},
                code="request_closed",
            )
        if quantity > request.remaining:
            raise SupplyError(
                _("Only %(remaining)s remain to allocate on this request.")
                % {"remaining": request.remaining},
                code="over_allocation",
            )
        reference = f"REQ-{request.pk}"
        if request.deliver_to_id:
            movement, _into = stock_transfer(
                actor=actor,
                source=warehouse,
                destination=request.deliver_to,
                item=request.item,
                quantity=quantity,
                day=day,
                reference=reference,
                request=request,
            )
        else:
            movement = stock_issue(
                actor=actor,
                warehouse=warehouse,
                item=request.item,
                quantity=quantity,
                day=day,
                reference=reference,
                reason=request.jurisdiction.name,
                request=request,
            )
        before = {"allocated": request.allocated, "status": request.status}
        request.allocated += quantity
        request.status = (
            SupplyRequest.Status.FULFILLED
            if request.allocated == request.quantity
            else SupplyRequest.Status.PARTIAL
        )
        request.save(update_fields=["allocated", "status"])
        allocation = Allocation.objects.create(
            request=request,
            warehouse=warehouse,
            quantity=quantity,
            movement=movement,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_updated(
            actor=actor,
            obj=request,
            before=before,
            after={"allocated": request.allocated, "status": request.status},
        )
    return allocation


def supply_request_cancel(*, actor, request: SupplyRequest) -> SupplyRequest:
    # The officer, or the requester taking their own request back.
    require(actor, lambda user: roles.can_manage_stock(user) or request.created_by_id == user.pk)
    _require_scope(actor, request.jpath)
    with transaction.atomic():
        request = SupplyRequest.objects.select_for_update().get(pk=request.pk)
        if request.status == SupplyRequest.Status.FULFILLED:
            raise SupplyError(_("A fulfilled request cannot be cancelled."))
        if request.status != SupplyRequest.Status.CANCELLED:
            before = {"status": request.status}
            request.status = SupplyRequest.Status.CANCELLED
            request.save(update_fields=["status"])
            audit_updated(actor=actor, obj=request, before=before, after={"status": request.status})
    return request


# --------------------------------------------------------------------------- shortages


def shortages_check(*, today: dt.date, threshold: float | None = None) -> list[dict]:
    """Raise a shortage alert for every item whose days of cover is under the threshold, for each
    city and each of its districts; one alert per item, node and day however often this runs."""
    from .selectors import cover_table

    threshold = shortage_threshold_days() if threshold is None else threshold
    short = []
    for city in Jurisdiction.objects.filter(level=Level.CITY).order_by("path"):
        table = cover_table(actor=None, node=city, today=today)
        for row in [*table["total"], *table["rows"]]:
            if row["days_of_cover"] is None:
                continue
            if row["days_of_cover"] < threshold:
                short.append(row)
                alert_raise(
                    kind="supply_shortage",
                    # Under a day left is critical: the next delivery may already be too late.
                    level=Alert.Level.CRITICAL if row["days_of_cover"] < 1 else Alert.Level.WARNING,
                    title=_("%(item)s short in %(node)s: %(days)s days of cover")
                    % {
                        "item": row["item_name"],
                        "node": row["node_name"],
                        "days": row["days_of_cover"],
                    },
                    body=_("Stock %(stock)s %(unit)s, daily use %(use)s.")
                    % {"stock": row["stock"], "unit": row["unit"], "use": row["daily_use"]},
                    jurisdiction_path=row["node_path"],
                    dedupe_key=f"supplies:shortage:{row['item_code']}:{row['node_code']}:{today.isoformat()}",
                )
    return short
