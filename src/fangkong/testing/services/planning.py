"""Planning: points, desks, samplers, tubes and lab capacity a round needs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db.models import Count, Sum

from fangkong.geo.models import Jurisdiction, Level
from fangkong.people.models import Person

from ..models import Lab, Site


@dataclass
class PlanRow:
    node: Jurisdiction
    population: int
    points_min: int
    points_max: int
    desks_min: int
    desks_max: int
    samplers: int
    tubes: int
    lab_per_day: int
    have_points: int = 0
    have_desks: int = 0
    have_samplers: int = 0
    have_lab_per_day: int = 0
    shortfall: dict = field(default_factory=dict)


def plan_numbers(population: int, *, hours: int = 24, pool_size: int = 10) -> dict:
    """The national sizing rules: a point per 2,000–3,000 people, a desk per 600–800, samplers =
    population ÷ 360 for a day (more for a shorter deadline), tubes at the pool size."""
    per_day = 24 / hours
    tubes = math.ceil(population / pool_size)
    return {
        "points_min": math.ceil(population / 3000),
        "points_max": math.ceil(population / 2000),
        "desks_min": math.ceil(population / 800),
        "desks_max": math.ceil(population / 600),
        "samplers": math.ceil(population / 360 * per_day),
        "tubes": tubes,
        "lab_per_day": math.ceil(tubes * per_day),
    }


def plan_round(*, node: Jurisdiction, hours: int = 24, pool_size: int = 10) -> list[PlanRow]:
    """Need against what the registry holds, per district (or the node itself below district level)."""
    levels = [choice.value for choice in Level]
    if levels.index(node.level) < levels.index(Level.DISTRICT):
        areas = list(
            Jurisdiction.objects.filter(path__startswith=node.path, level=Level.DISTRICT).order_by(
                "path"
            )
        )
    else:
        areas = [node]
    rows = []
    for area in areas:
        population = (
            Person.objects.filter(jpath__startswith=area.path).count() or area.population or 0
        )
        need = plan_numbers(population, hours=hours, pool_size=pool_size)
        sites = Site.objects.filter(jpath__startswith=area.path, kind=Site.Kind.FIXED).aggregate(
            n=Count("id"), desks=Sum("desks"), samplers=Sum("samplers")
        )
        team_samplers = (
            Site.objects.filter(jpath__startswith=area.path, kind=Site.Kind.HOME_TEAM).aggregate(
                s=Sum("samplers")
            )["s"]
            or 0
        )
        capacity = (
            Lab.objects.filter(jpath__startswith=area.path).aggregate(c=Sum("daily_capacity"))["c"]
            or 0
        )
        row = PlanRow(
            node=area,
            population=population,
            **need,
            have_points=sites["n"] or 0,
            have_desks=sites["desks"] or 0,
            have_samplers=(sites["samplers"] or 0) + team_samplers,
            have_lab_per_day=capacity,
        )
        row.shortfall = {
            "points": max(0, row.points_min - row.have_points),
            "desks": max(0, row.desks_min - row.have_desks),
            "samplers": max(0, row.samplers - row.have_samplers),
            "lab_per_day": max(0, row.lab_per_day - row.have_lab_per_day),
        }
        rows.append(row)
    return rows
