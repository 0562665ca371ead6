"""The control part of the demo story: contacts of the testing round's positives under control,
isolation sites filling up, home isolation for risk-area arrivals, today's health checks.

Close contacts are the household members of the people the first testing round found positive,
plus, for a believable caseload, people of the demo district's first grids, started over the last
eight days; they are assigned rooms in one batch and most have checked in. Arrivals from risk areas
are under home isolation. Today's health checks are partly done, one with a fever, and yesterday's
missed checks raise their alerts. Everything goes through the control services as the system
(actor None); the draw is fixed by the seed.
"""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
from django.db import transaction
from django.utils import timezone

from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.models import Person

from . import services
from .models import Category, ControlOrder, Measure, Site

SITES = [
    # code, name, floors, rooms per floor, family rooms
    ("GL-XW-01", "玄武区集中隔离点（应急改建楼，300间）", 10, 30, 10),
    ("GL-XW-02", "玄武区隔离酒店（紫金山庄）", 6, 20, 6),
]


def control_demo(stdout, seed: int) -> None:
    if Site.objects.filter(code=SITES[0][0]).exists():
        stdout.write("隔离管控: 演示数据已存在，保持不变。")
        return
    began = time.perf_counter()
    rng = np.random.default_rng(seed + 5)
    nodes = demo_nodes()
    district = nodes[Level.DISTRICT]
    now = timezone.now()
    with transaction.atomic():
        for code, name, floors, per_floor, family in SITES:
            services.site_create(
                actor=None,
                code=code,
                name=name,
                jurisdiction=district,
                kind="purpose_built" if "改建" in name else "hotel",
                floors=floors,
                rooms_per_floor=per_floor,
                family_rooms=family,
            )
        contacts = _close_contacts(district, rng)
        orders = []
        for index, person in enumerate(contacts):
            start = now - dt.timedelta(days=int(index % 8), hours=int(rng.integers(0, 10)))
            orders.append(
                services.control_order_open(
                    actor=None,
                    person=person,
                    category=Category.CLOSE_CONTACT,
                    start=start,
                    reason="阳性病例的密切接触者",
                    source="流调",
                )
            )
        centralized = [o for o in orders if o.measure == Measure.CENTRALIZED]
        services.rooms_assign_batch(actor=None, orders=centralized)
        # The newest few are still on their way (closed-loop transfer): assigned, not checked in.
        for order in (
            ControlOrder.objects.filter(pk__in=[o.pk for o in centralized])
            .exclude(room__isnull=True)
            .order_by("start")[3:]
        ):
            services.room_check_in(actor=None, order=order)
        arrivals = _risk_area_arrivals(district, rng, exclude={p.pk for p in contacts})
        for index, person in enumerate(arrivals):
            orders.append(
                services.control_order_open(
                    actor=None,
                    person=person,
                    category=Category.RISK_AREA,
                    start=now - dt.timedelta(days=int(index % 5)),
                    reason="中高风险地区来宁",
                    source="卡口登记",
                )
            )
        today = timezone.localdate()
        for index, order in enumerate(orders):
            if order.start_date >= today or index % 4 == 3:
                continue  # not yet checked today: the grid worker's list shows them
            fever = index == 1
            services.health_check_record(
                actor=None,
                order=order,
                temperature=38.1 if fever else round(36.2 + 0.1 * (index % 7), 1),
                symptoms="咳嗽、乏力" if fever else "",
                day=today,
            )
        services.daily_alerts_compute(day=today - dt.timedelta(days=1))
    stdout.write(
        f"隔离管控: {len(SITES)} 个隔离点, {len(contacts)} 名密接 ({len(centralized)} 人集中隔离), "
        f"{len(arrivals)} 名风险地区来返人员居家隔离 ({time.perf_counter() - began:.1f} s)"
    )


def _close_contacts(district, rng) -> list[Person]:
    """Household members of the testing demo's positives, then people of the first grids."""
    found: list[Person] = []
    try:
        from fangkong.testing.models import PositiveFinding

        positives = PositiveFinding.objects.filter(person__jpath__startswith=district.path)
        households = {f.person.household_id for f in positives.select_related("person")}
        positive_ids = {f.person_id for f in positives}
        found = list(
            Person.objects.filter(household_id__in=households - {None})
            .exclude(pk__in=positive_ids)
            .order_by("pk")
        )
    except ImportError:
        pass
    pool = list(
        Person.objects.filter(jpath__startswith=district.path, birth_date__lt=dt.date(2010, 1, 1))
        .exclude(pk__in=[p.pk for p in found])
        .order_by("jpath", "pk")[:2000]
    )
    picks = rng.choice(len(pool), size=min(len(pool), 120), replace=False) if pool else []
    return found + [pool[i] for i in sorted(picks)]


def _risk_area_arrivals(district, rng, *, exclude: set[int]) -> list[Person]:
    pool = list(
        Person.objects.filter(jpath__startswith=district.path)
        .exclude(pk__in=exclude)
        .order_by("-jpath", "pk")[:1000]
    )
    picks = rng.choice(len(pool), size=min(len(pool), 40), replace=False) if pool else []
    return [pool[i] for i in sorted(picks)]
