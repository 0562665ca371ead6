"""The supplies part of the demo story: stocked warehouses running down, output, requests, a shortage.

A municipal reserve and one warehouse per district were stocked 30 days ago and have issued
supplies every day since, with the reserve topping the districts up every week. Two enterprises
report their daily output (a mask plant about 80,000 surgical masks and 200 suits a day, a reagent
maker about 150,000 test kits a day). A few requests from units are open, one partly allocated.
The demo's first district (玄武区 in the synthetic Nanjing) uses protective suits faster than it
was given them, so its days of cover fall under 3 and the shortage alert shows.

Every line goes through the ledger services as the system (actor None); the draw is fixed by the
seed, and days are relative to today.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from django.db import transaction
from django.utils import timezone

from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Jurisdiction, Level

from . import services
from .models import Item, SupplyRequest, Warehouse

RESERVE_CODE = "WH-RESERVE"
DAYS = 30
# item: (district's opening stock, its mean daily use, reserve's opening stock)
PLAN = {
    "MASK-SURG": (60_000, 1_500, 2_000_000),
    "MASK-N95": (8_000, 200, 200_000),
    "SUIT": (4_000, 90, 60_000),
    "TEST-KIT": (120_000, 3_000, 3_000_000),
    "SWAB": (120_000, 3_000, 3_000_000),
    "THERMO": (2_000, 20, 20_000),
    "DISINF": (3_000, 60, 50_000),
    "RICE": (30_000, 700, 500_000),
    "VEG": (12_000, 900, 400_000),
    "OIL": (5_000, 100, 60_000),
}
WEEKLY_TOP_UP = 7  # days of use the reserve sends each district every week
SHORT_ITEM = "SUIT"


def supplies_demo(stdout, seed: int) -> None:
    if Warehouse.objects.filter(code=RESERVE_CODE).exists():
        stdout.write("物资保障: 演示仓库已存在，保持不变。")
        return
    began = time.perf_counter()
    services.supply_items_ensure()
    nodes = demo_nodes()
    city, first = nodes[Level.CITY], nodes[Level.DISTRICT]
    districts = list(
        Jurisdiction.objects.filter(parent=city, level=Level.DISTRICT).order_by("path")
    )
    items = {item.code: item for item in Item.objects.filter(code__in=PLAN)}
    rng = np.random.default_rng([seed, 6])
    today = timezone.localdate()
    start = today - dt.timedelta(days=DAYS)
    with transaction.atomic():
        reserve = services.warehouse_create(
            actor=None,
            code=RESERVE_CODE,
            name=f"{city.name}应急物资储备库",
            jurisdiction=city,
            kind=Warehouse.Kind.RESERVE,
            address=f"{city.name}经济技术开发区",
        )
        stores = {
            d.pk: services.warehouse_create(
                actor=None,
                code=f"WH-{d.code}",
                name=f"{d.name}物资仓库",
                jurisdiction=d,
                kind=Warehouse.Kind.DISTRICT,
            )
            for d in districts
        }
        # The running stock, kept here so the story never asks the ledger for more than it holds.
        stock: dict[tuple[int, str], int] = {}
        for code, (opening, _use, reserve_stock) in PLAN.items():
            stock[(reserve.pk, code)] = reserve_stock
            services.stock_receive(
                actor=None,
                warehouse=reserve,
                item=items[code],
                quantity=reserve_stock,
                day=start,
                reference="储备入库",
            )
            for d in districts:
                quantity = opening if not (d.pk == first.pk and code == SHORT_ITEM) else 2_050
                stock[(d.pk, code)] = quantity
                services.stock_receive(
                    actor=None,
                    warehouse=stores[d.pk],
                    item=items[code],
                    quantity=quantity,
                    day=start,
                    reference="初始调拨",
                )
        for back in range(DAYS, 0, -1):
            day = today - dt.timedelta(days=back)
            for d in districts:
                for code, (_opening, use, _r) in PLAN.items():
                    item = items[code]
                    daily = max(1, int(rng.normal(use, use * 0.15)))
                    if d.pk == first.pk and code == SHORT_ITEM:
                        daily = 60 + int(rng.integers(0, 10))
                    elif back % 7 == 0 and stock[(reserve.pk, code)] >= use * WEEKLY_TOP_UP:
                        # Weekly top-up from the reserve (the short item in the first district
                        # is the one the reserve did not get to).
                        stock[(reserve.pk, code)] -= use * WEEKLY_TOP_UP
                        stock[(d.pk, code)] += use * WEEKLY_TOP_UP
                        services.stock_transfer(
                            actor=None,
                            source=reserve,
                            destination=stores[d.pk],
                            item=item,
                            quantity=use * WEEKLY_TOP_UP,
                            day=day,
                            reference="周调拨",
                        )
                    have = stock[(d.pk, code)]
                    if have > 0:
                        stock[(d.pk, code)] -= min(daily, have)
                        services.stock_issue(
                            actor=None,
                            warehouse=stores[d.pk],
                            item=item,
                            quantity=min(daily, have),
                            day=day,
                            reason="日常发放",
                        )
        mask, suit, kit = items["MASK-SURG"], items["SUIT"], items["TEST-KIT"]
        plant = services.enterprise_create(
            actor=None,
            code="ENT-MASK",
            name="金陵医疗用品有限公司",
            jurisdiction=first,
            address=f"{first.name}工业园",
            capacities={mask: 100_000, suit: 300},
        )
        maker = services.enterprise_create(
            actor=None,
            code="ENT-REAGENT",
            name="南京生物试剂有限公司",
            jurisdiction=districts[-1],
            capacities={kit: 200_000},
        )
        for back in range(7, 0, -1):
            day = today - dt.timedelta(days=back)
            for enterprise, item, mean in (
                (plant, mask, 80_000),
                (plant, suit, 200),
                (maker, kit, 150_000),
            ):
                services.enterprise_output_report(
                    actor=None,
                    enterprise=enterprise,
                    item=item,
                    day=day,
                    quantity=int(rng.normal(mean, mean * 0.05)),
                )
        requests = [
            (
                first,
                suit,
                3_000,
                2,
                SupplyRequest.Priority.URGENT,
                stores[first.pk],
                "隔离点防护服告急",
            ),
            (
                nodes[Level.COMMUNITY],
                kit,
                20_000,
                3,
                SupplyRequest.Priority.HIGH,
                None,
                "全员核酸检测",
            ),
            (
                districts[-1],
                items["RICE"],
                10_000,
                5,
                SupplyRequest.Priority.NORMAL,
                stores[districts[-1].pk],
                "封控小区保供",
            ),
        ]
        filed = [
            services.supply_request_create(
                actor=None,
                jurisdiction=node,
                item=item,
                quantity=quantity,
                needed_by=today + dt.timedelta(days=days),
                priority=priority,
                deliver_to=deliver_to,
                note=note,
            )
            for node, item, quantity, days, priority, deliver_to, note in requests
        ]
        services.supply_request_allocate(
            actor=None, request=filed[2], warehouse=reserve, quantity=4_000
        )
        short = services.shortages_check(today=today)
    stdout.write(
        f"物资保障: {len(stores) + 1} 个仓库, {len(PLAN)} 种物资, {DAYS} 天台账, "
        f"2 家企业日报产量, {len(filed)} 条需求, {len(short)} 项短缺预警"
        f" ({time.perf_counter() - began:.1f} s)。"
    )
