"""The checkpoints part of the demo story: the city's gates (a highway exit, the south railway
station, the airport, a port and an observation point), other cities' risk areas imported from
the day's list, today's arrivals registered at the gates with the dispositions the rules give, and
closed-loop transfers to the isolation sites in every state — one of them overdue, so the
transfer-loss alert shows in the alert centre.

Arrivals are residents of the demo district coming home (their registry records are found by ID
number; the registry itself is left as the city built it).
Everything goes through the services as the system (actor None); the draw is fixed by the seed.
"""

from __future__ import annotations

import datetime as dt
import io
import time

import numpy as np
from django.db import transaction
from django.utils import timezone

from fangkong.command import services as command
from fangkong.control.models import ControlOrder, Site
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.models import Person

from . import services
from .models import Arrival, Checkpoint, Passenger

CHECKPOINTS = [
    ("KK-G25-01", "G25长深高速南京东收费站卡口", "highway_exit"),
    ("KK-NJN-01", "南京南站出站口防疫检查点", "station"),
    ("KK-LK-01", "禄口国际机场到达层防疫检查点", "airport"),
    ("KK-LT-01", "龙潭港码头检查点", "port"),
    ("KK-LG-01", "玄武区紫金山路留观点", "observation"),
]
# Other cities' risk areas, as the day's list file gives them.
RISK_AREAS = """province,city,district,area_name,level,since
上海市,上海市,浦东新区,花木街道,高风险,{d1}
上海市,上海市,闵行区,莘庄镇,中风险,{d2}
广东省,广州市,海珠区,凤阳街道,中风险,{d2}
北京市,北京市,朝阳区,望京街道,低风险,{d3}
"""
ORIGINS = [
    # (origin, health code, temperature, from abroad): the mix of a morning at the gates
    ("江苏省苏州市姑苏区", "green", "36.4", False),
    ("安徽省合肥市蜀山区", "green", "36.6", False),
    ("浙江省杭州市西湖区", "green", "36.5", False),
    ("上海市浦东新区花木街道", "green", "36.7", False),
    ("上海市闵行区莘庄镇", "green", "36.5", False),
    ("广东省广州市海珠区凤阳街道", "yellow", "36.8", False),
    ("北京市朝阳区望京街道", "green", "36.3", False),
    ("江苏省无锡市梁溪区", "green", "37.6", False),
    ("韩国首尔", "green", "36.4", True),
    ("江苏省常州市武进区", "red", "36.6", False),
    ("山东省济南市历下区", "green", "36.2", False),
    ("江苏省扬州市邗江区", "green", "36.9", False),
]


def checkpoints_demo(stdout, seed: int) -> None:
    if Checkpoint.objects.filter(code=CHECKPOINTS[0][0]).exists():
        stdout.write("卡口与闭环转运: 演示数据已存在，保持不变。")
        return
    began = time.perf_counter()
    rng = np.random.default_rng(seed + 13)
    nodes = demo_nodes()
    district = nodes[Level.DISTRICT]
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        gates = [
            services.checkpoint_create(
                actor=None, code=code, name=name, kind=kind, jurisdiction=district
            )
            for code, name, kind in CHECKPOINTS
        ]
        days = {f"d{i}": (today - dt.timedelta(days=i * 2)).isoformat() for i in (1, 2, 3)}
        command.risk_areas_import(
            actor=None, source=io.BytesIO(RISK_AREAS.format(**days).encode()), filename="risk.csv"
        )
        under_control = ControlOrder.objects.filter(status="open").values("person_id")
        residents = list(
            Person.objects.filter(jpath__startswith=district.path)
            .exclude(pk__in=under_control)
            .order_by("-jpath", "-pk")[:600]
        )
        picks = rng.choice(len(residents), size=min(len(residents), 36), replace=False)
        arrivals = []
        start = now - dt.timedelta(hours=7)
        for index, pick in enumerate(sorted(picks)):
            person = residents[pick]
            origin, code, temperature, abroad = ORIGINS[index % len(ORIGINS)]
            gate = gates[index % 3] if not abroad else gates[2]
            arrivals.append(
                services.arrival_register(
                    actor=None,
                    checkpoint=gate,
                    document_number=person.document_number,
                    origin=origin,
                    temperature=temperature,
                    health_code=code,
                    abroad=abroad,
                    at=start + dt.timedelta(minutes=11 * index),
                )
            )
        transfers = _transfers(gates, arrivals, now)
        services.transfers_lost_alert(now=now)
    counts = {d: 0 for d in ("release", "test", "home_monitoring", "home_isolation", "centralized")}
    for a in Arrival.objects.filter(checkpoint__in=gates):
        counts[a.disposition] += 1
    stdout.write(
        f"卡口与闭环转运: {len(gates)} 个卡口, 今日登记 {sum(counts.values())} 人 "
        f"(放行 {counts['release']}, 落地检 {counts['test']}, "
        f"居家 {counts['home_monitoring'] + counts['home_isolation']}, 集中隔离 {counts['centralized']}), "
        f"{transfers} 个转运任务 ({time.perf_counter() - began:.1f} s)"
    )


def _transfers(gates, arrivals, now) -> int:
    """Vehicles for those sent to centralized isolation, one per state; the first one left four
    hours ago and one of its passengers is still not checked in."""
    waiting = [a for a in arrivals if a.disposition == "centralized"]
    site = (
        Site.objects.filter(active=True, jpath__startswith=gates[0].jpath).order_by("code").first()
    )
    if site is None or not waiting:
        return 0
    plans = [
        # (passengers, how long ago dispatched, steps to advance, check in all but n)
        (2, dt.timedelta(hours=4), 3, 1),  # overdue: one person not checked in
        (1, dt.timedelta(hours=1, minutes=10), 3, 0),  # everyone checked in
        (1, dt.timedelta(minutes=50), 2, None),  # picked up, on the road
        (1, dt.timedelta(minutes=20), 1, None),  # dispatched
        (1, None, 0, None),  # planned: waiting for its vehicle
    ]
    made = 0
    for number, (size, ago, steps, left) in enumerate(plans, start=1):
        riders, waiting = waiting[:size], waiting[size:]
        if not riders:
            break
        transfer = services.transfer_create(
            actor=None,
            checkpoint=riders[0].checkpoint,
            site=site,
            vehicle=f"苏A·Z{number:04d}",
            driver=["张师傅", "李师傅", "王师傅", "赵师傅", "钱师傅"][number - 1],
            driver_phone=f"1381234{number:04d}",
            orders=[a.order for a in riders],
        )
        at = now - ago if ago else now
        for step in range(steps):
            transfer = services.transfer_advance(
                actor=None, transfer=transfer, at=at + dt.timedelta(minutes=15 * step)
            )
        if left is not None:
            for passenger in Passenger.objects.filter(transfer=transfer).order_by("id")[
                : size - left
            ]:
                services.passenger_check_in(actor=None, passenger=passenger)
        made += 1
    return made
