"""The screening part of the demo story: yesterday morning the demo district opened a
door-to-door campaign (deadline tomorrow evening); about half of its households have been visited,
one grid that had to finish by last night is overdue, and the demo grid worker's grid is in
progress — a few of today's visits found an arrival from a risk area (a control order opened) and
a fever (the grid's alert), and the rest of the grid is on the worker's phone.

It runs after the checkpoints step (which imports other cities' risk areas from the day's list),
so a visit's "arrived from 上海市浦东新区花木街道" matches a high-risk area. The grid worker's visits
go through the visit service like the phone's; the district's earlier visits are written
set-based (thousands of households) and the counters recomputed by coverage_recount.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import numpy as np
from django.db import transaction
from django.utils import timezone

from fangkong.accounts.models import User
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.models import Person

from . import services
from .models import Assignment, Campaign, GridCoverage, Outcome, Visit, VisitPerson

NAME = "玄武区第一轮入户排查"


def screening_demo(stdout, seed: int) -> None:
    if Campaign.objects.filter(name=NAME).exists():
        stdout.write("入户排查: 演示数据已存在，保持不变。")
        return
    began = time.perf_counter()
    rng = np.random.default_rng(seed + 47)
    nodes = demo_nodes()
    district, grid = nodes[Level.DISTRICT], nodes[Level.GRID]
    worker = User.objects.filter(username="grid_worker").first()
    now = timezone.now()
    today = timezone.localdate()
    local = timezone.get_current_timezone()
    opened = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(8), local)
    with transaction.atomic():
        campaign = services.campaign_open(
            actor=None,
            jurisdiction=district,
            name=NAME,
            deadline=dt.datetime.combine(today + dt.timedelta(days=1), dt.time(20), local),
        )
        # The story starts yesterday morning.
        Campaign.objects.filter(pk=campaign.pk).update(created_at=opened)
        campaign.refresh_from_db()
        grids = list(
            GridCoverage.objects.filter(campaign=campaign).order_by("jpath").select_related("grid")
        )
        # The district's earlier work: about half of every other grid's households met.
        rows = list(
            Assignment.objects.filter(campaign=campaign)
            .exclude(grid=grid)
            .order_by("id")
            .values_list("id", "household_id", "jpath")
        )
        share = rng.uniform(0.35, 0.75, size=len(grids))
        grid_share = {g.jpath: share[i] for i, g in enumerate(grids)}
        # Another grid than the worker's is overdue; in a district of one grid, that grid.
        overdue = next((g for g in grids if g.grid_id != grid.pk), grids[0] if grids else None)
        if overdue is not None and overdue.grid_id != grid.pk:
            grid_share[overdue.jpath] = 0.3
        draws = rng.random(len(rows))
        span = (now - opened).total_seconds()
        visited = [row for row, d in zip(rows, draws, strict=True) if d < grid_share[row[2]]]
        members: dict[int, list[tuple[int, str]]] = {}
        for pk, household, name in Person.objects.filter(
            household_id__in=[v[1] for v in visited]
        ).values_list("id", "household_id", "name"):
            members.setdefault(household, []).append((pk, name))
        visits = [
            Visit(
                client_id=uuid.UUID(int=int(rng.integers(1 << 62)) << 64 | i),
                campaign=campaign,
                assignment_id=pk,
                jpath=jpath,
                outcome=Outcome.MET,
                visited_at=opened + dt.timedelta(seconds=float(rng.uniform(0, span * 0.9))),
            )
            for i, (pk, _household, jpath) in enumerate(visited)
        ]
        Visit.objects.bulk_create(visits, batch_size=2000)
        stored = dict(Visit.objects.filter(campaign=campaign).values_list("assignment_id", "id"))
        VisitPerson.objects.bulk_create(
            [
                VisitPerson(visit_id=stored[pk], person_id=person, name=name, vaccination="full")
                for pk, household, _jpath in visited
                for person, name in members.get(household, [])
            ],
            batch_size=5000,
        )
        services.coverage_recount(campaign=campaign)
        if overdue is not None:
            services.grid_deadline_set(
                actor=None,
                campaign=campaign,
                grid=overdue.grid,
                deadline=dt.datetime.combine(today - dt.timedelta(days=1), dt.time(20), local),
            )
    _worker_visits(campaign, grid, worker, now)
    figures = GridCoverage.objects.filter(campaign=campaign)
    households = sum(g.households for g in figures)
    done = sum(g.visited for g in figures)
    stdout.write(
        f"入户排查: {district.name} {done:,}/{households:,} 户已走访, "
        f"{len(grids)} 个网格, 用时 {time.perf_counter() - began:.1f} s"
    )


def _worker_visits(campaign, grid, worker, now) -> None:
    """Today's visits of the demo grid worker, through the service as the phone sends them: most
    households met, one nobody home, one risk-area arrival and one fever; about 40 % of the grid
    is left on the worklist."""
    if worker is None:
        return
    assignments = list(Assignment.objects.filter(campaign=campaign, grid=grid).order_by("id"))
    todo = assignments[: int(len(assignments) * 0.6)]
    for i, assignment in enumerate(todo):
        people = list(Person.objects.filter(household_id=assignment.household_id).order_by("id"))
        answers = [{"person": p.pk, "name": p.name, "vaccination": "full"} for p in people]
        if i == 1 and answers:
            answers[0].update(
                arrived_from="上海市浦东新区花木街道",
                arrived_on=(timezone.localdate() - dt.timedelta(days=3)).isoformat(),
            )
        if i == 2 and answers:
            answers[0].update(fever=True, symptoms=True)
        outcome = Outcome.NOBODY_HOME if i == 3 or not answers else Outcome.MET
        services.visit_record(
            actor=worker,
            client_id=uuid.uuid5(uuid.NAMESPACE_URL, f"fangkong-demo-visit-{assignment.pk}"),
            assignment_id=assignment.pk,
            version=assignment.version,
            outcome=outcome,
            visited_at=now - dt.timedelta(minutes=2 * (len(todo) - i)),
            people=answers if outcome == Outcome.MET else [],
        )
