"""The places part of the demo story: key places of the demo district with their venue codes, a
day of scans at them (a few thousand, set-based), the confirmed case who shopped at the market
and whose fellow shoppers become leads, the places of a medium-risk area closed or restricted,
and today's duty checks, done at most places and missed at some.

Idempotent: a district that has places already is left as it is. The draw is fixed by the seed.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.accounts.roles import Role
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Jurisdiction, Level
from fangkong.people.models import Person

from . import policy, services
from .colocation import venue_leads_for_case
from .models import DutyCheck, Place, PlaceKind, Scan

K = PlaceKind
PLACES = [
    ("红山农贸市场", "Hongshan Farmers' Market", K.MARKET, 800),
    ("苏果超市玄武门店", "Suguo Supermarket Xuanwumen", K.SUPERMARKET, 600),
    ("新街口百货商店", "Xinjiekou Department Store", K.MALL, 3000),
    ("南京站北广场候车厅", "Nanjing Railway Station North Hall", K.STATION, 5000),
    ("玄武饭店", "Xuanwu Hotel", K.HOTEL, 400),
    ("梅园面馆", "Meiyuan Noodle House", K.RESTAURANT, 80),
    ("玄武区第一实验小学", "Xuanwu No. 1 Experimental Primary School", K.SCHOOL, 1500),
    ("孝陵卫敬老院", "Xiaolingwei Elder-Care Home", K.ELDER_CARE, 200),
    ("玄武区中医院", "Xuanwu Hospital of Chinese Medicine", K.HOSPITAL, 1200),
    ("徐庄软件园A座", "Xuzhuang Software Park Building A", K.WORKPLACE, 2000),
    ("众彩冷链物流仓", "Zhongcai Cold-Chain Warehouse", K.COLD_CHAIN, 150),
    ("鸡鸣寺", "Jiming Temple", K.RELIGIOUS, 1000),
    ("锁金村菜场", "Suojincun Food Market", K.MARKET, 500),
    ("后宰门KTV", "Houzaimen KTV", K.ENTERTAINMENT, 300),
    ("玄武湖公园游客中心", "Xuanwu Lake Visitor Centre", K.OTHER, 600),
    ("珠江路电脑城", "Zhujiang Road Computer Mall", K.MALL, 1500),
]
SCANS = 4000


def places_demo(stdout, seed: int) -> None:
    nodes = demo_nodes()
    district = nodes[Level.DISTRICT]
    if Place.objects.filter(jpath__startswith=district.path).exists():
        stdout.write("重点场所: 演示数据已存在，保持不变。")
        return
    began = time.perf_counter()
    rng = np.random.default_rng(seed + 35)
    now = timezone.now()
    communities = list(
        Jurisdiction.objects.filter(level=Level.COMMUNITY, path__startswith=district.path).order_by(
            "path"
        )[:8]
    ) or [nodes[Level.COMMUNITY]]
    with transaction.atomic():
        places = [
            services.place_create(
                actor=None,
                name=name,
                name_en=name_en,
                place_kind=kind,
                jurisdiction=nodes[Level.COMMUNITY]
                if i == 0
                else communities[i % len(communities)],
                address=f"{district.name}{name}",
                owner=f"{name}经营管理方",
                contact_name="王经理",
                contact_phone=f"1390000{i:04d}",
                capacity=capacity,
            )
            for i, (name, name_en, kind, capacity) in enumerate(PLACES)
        ]
        staff = User.objects.filter(role=Role.PLACE_STAFF, username="place_staff").first()
        if staff is not None:
            places[0].staff.add(staff)
        scans = _day_of_scans(places, rng, now)
        checks = _duty_checks(places, rng, now)
    leads = _case_at_market(places[0], now)
    closed = _risk_area(places, district, now)
    stdout.write(
        f"重点场所: {len(places)} 个场所 (场所码已生成), 近24小时扫码 {scans} 次, "
        f"今日职责检查 {checks} 项, 病例同场所线索 {leads} 条, 风险区停业/限流 {closed} 个 "
        f"({time.perf_counter() - began:.1f} s)"
    )


def _day_of_scans(places, rng, now) -> int:
    """A day of entries over the last 24 hours, busier at meal times; about one in ten numbers
    matches nobody in the registry (visitors from elsewhere)."""
    people = list(
        Person.objects.filter(
            jpath__startswith=places[0].jpath[: places[0].jpath.rfind("/", 0, -1) + 1]
        )
        .exclude(phone="")
        .order_by("id")
        .values_list("id", "phone")[:20000]
    )
    if not people:
        return 0
    weights = np.array([1, 1, 1, 1, 1, 2, 4, 6, 7, 6, 6, 8, 9, 7, 5, 5, 6, 8, 9, 8, 6, 4, 2, 1.0])
    hours = rng.choice(24, size=SCANS, p=weights / weights.sum())
    minutes = rng.integers(0, 60, SCANS)
    popularity = np.array([p.capacity for p in places], dtype=float)
    where = rng.choice(len(places), size=SCANS, p=popularity / popularity.sum())
    who = rng.integers(0, len(people), SCANS)
    stranger = rng.random(SCANS) < 0.1
    start = timezone.localtime(now).replace(minute=0, second=0, microsecond=0) - dt.timedelta(
        hours=23
    )
    rows = []
    for k in range(SCANS):
        at = start + dt.timedelta(hours=int((hours[k] - start.hour) % 24), minutes=int(minutes[k]))
        if at > now:
            continue
        pid, phone = people[int(who[k])]
        if stranger[k]:
            pid, phone = None, f"177{int(who[k]):08d}"
        rows.append(
            Scan(
                place=places[int(where[k])],
                phone=phone,
                person_id=pid,
                scanned_at=at,
                left_at=at + dt.timedelta(minutes=20 + int(minutes[k])) if k % 3 == 0 else None,
            )
        )
    Scan.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _duty_checks(places, rng, now) -> int:
    """Today's checks: three places in four have recorded theirs; one duty in ten is missed."""
    today = timezone.localdate(now)
    rows = []
    for i, place in enumerate(places):
        if i % 4 == 3:
            continue
        for duty in policy.duties_of(place.place_kind):
            rows.append(
                DutyCheck(
                    place=place,
                    jpath=place.jpath,
                    day=today,
                    duty=duty,
                    done=bool(rng.random() > 0.1),
                    note="",
                    recorded_at=now - dt.timedelta(hours=2),
                )
            )
    DutyCheck.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _case_at_market(market: Place, now) -> int:
    """A confirmed case of the tracing story shopped at the market inside their infectious
    window, with a dozen others in the same half hour: the venue rule over the scans makes those
    shoppers leads on their grids."""
    from fangkong.tracing.models import Case, Classification

    case = (
        Case.objects.filter(classification=Classification.CONFIRMED, window_start__isnull=False)
        .select_related("person")
        .order_by("-report_date", "id")
        .first()
    )
    if case is None:
        return 0
    at = (case.window_end or now) - dt.timedelta(hours=3)
    at = max(at, case.window_start)
    fellows = list(
        Person.objects.filter(jpath__startswith=market.jpath[:-1].rsplit("/", 1)[0] + "/")
        .exclude(pk=case.person_id)
        .exclude(phone="")
        .order_by("id")[:12]
    )
    Scan.objects.bulk_create(
        [Scan(place=market, phone=case.person.phone, person=case.person, scanned_at=at)]
        + [
            Scan(
                place=market,
                phone=p.phone,
                person=p,
                scanned_at=at + dt.timedelta(minutes=2 * k - 10),
            )
            for k, p in enumerate(fellows)
        ]
    )
    stats = venue_leads_for_case(case_id=case.pk)
    return stats.get("created", 0) + stats.get("merged", 0)


def _risk_area(places, district, now) -> int:
    """A medium-risk area on the community of the noodle house: the places there close or admit
    fewer people, as their kinds carry under the policy (the noodle house closes)."""
    from fangkong.command.models import RiskArea
    from fangkong.command.services import risk_area_declare

    commander = User.objects.filter(role=Role.COMMANDER).order_by("id").first()
    target = places[5].jurisdiction
    if commander is None:
        return 0
    if not RiskArea.objects.filter(jpath=target.path, ended_on__isnull=True).exists():
        risk_area_declare(
            actor=commander,
            level="medium",
            since=timezone.localdate(now),
            reason="梅园面馆关联病例",
            jurisdiction=target,
        )
    stats = services.place_orders_apply(actor=None, jpath=district.path, at=now)
    return stats["issued"]
