"""Planning: points, desks, samplers, tubes, the expected re-tests and lab capacity a round needs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db.models import Count, Sum

from fangkong.geo.models import Jurisdiction, Level
from fangkong.people.models import Person

from ..models import GridStat, Lab, Round, Site

# The pool sizes the national guidance validated (5, 10 or 20 swabs a tube).
VALIDATED_POOL_SIZES = (5, 10, 20)
# How many of an area's last rounds give its expected prevalence.
PREVALENCE_ROUNDS = 3
# With no round of the area yet, plan for 0.1 %: budgeting no re-test at all is the error this
# planning exists to avoid, and 0.1 % is the low end the guidance pools 10:1 at.
DEFAULT_PREVALENCE = 0.001


def dorfman_tests_per_person(prevalence: float, pool_size: int) -> float:
    """Dorfman's two-stage scheme: one test per pool of k, then one per member of a positive
    pool, which is positive with probability 1 − (1 − p)^k. A single tube is one test."""
    if not 0 <= prevalence <= 1:
        raise ValueError("prevalence is a fraction between 0 and 1")
    if pool_size < 1:
        raise ValueError("a pool holds at least one swab")
    if pool_size == 1:
        return 1.0
    return 1 / pool_size + 1 - (1 - prevalence) ** pool_size


def recommended_pool_size(prevalence: float, sizes=VALIDATED_POOL_SIZES) -> int:
    """The validated pool size with the fewest expected tests per person (the smaller on a tie)."""
    return min(sizes, key=lambda k: (dorfman_tests_per_person(prevalence, k), k))


def area_prevalence(node: Jurisdiction, *, rounds: int = PREVALENCE_ROUNDS) -> float | None:
    """Positives over people with a result in the area's last `rounds` rounds (GridStat counts,
    one range scan); None when those rounds resulted nobody there."""
    stats = GridStat.objects.filter(path__startswith=node.path)
    last = list(
        Round.objects.filter(pk__in=stats.values("round_id"))
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[:rounds]
    )
    if not last:
        return None
    totals = stats.filter(round_id__in=last).aggregate(pos=Sum("positive"), res=Sum("resulted"))
    if not totals["res"]:
        return None
    return (totals["pos"] or 0) / totals["res"]


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
    retests: int
    tests: int
    lab_per_day: int
    prevalence: float
    tests_per_person: float
    recommended_pool_size: int
    recommended_tests_per_person: float
    prevalence_source: str = "input"  # input, rounds (the area's last rounds) or default
    have_points: int = 0
    have_desks: int = 0
    have_samplers: int = 0
    have_lab_per_day: int = 0
    shortfall: dict = field(default_factory=dict)

    @property
    def prevalence_percent(self) -> str:
        return f"{self.prevalence * 100:.4f}".rstrip("0").rstrip(".") if self.prevalence else "0"


def plan_numbers(
    population: int, *, hours: int = 24, pool_size: int = 10, prevalence: float = 0.0
) -> dict:
    """The national sizing rules: a point per 2,000–3,000 people, a desk per 600–800, samplers =
    population ÷ 360 for a day (more for a shorter deadline), tubes at the pool size; and the lab
    load with the single-tube re-checks of positive pools budgeted by Dorfman's formula at the
    expected prevalence, beside the validated pool size that needs the fewest tests."""
    per_day = 24 / hours
    tubes = math.ceil(population / pool_size)
    per_person = dorfman_tests_per_person(prevalence, pool_size)
    # Everyone in a positive pool is re-tested one tube each (none when each swab has its own).
    retests = 0 if pool_size == 1 else math.ceil(population * (1 - (1 - prevalence) ** pool_size))
    tests = tubes + retests
    best = recommended_pool_size(prevalence)
    return {
        "points_min": math.ceil(population / 3000),
        "points_max": math.ceil(population / 2000),
        "desks_min": math.ceil(population / 800),
        "desks_max": math.ceil(population / 600),
        "samplers": math.ceil(population / 360 * per_day),
        "tubes": tubes,
        "retests": retests,
        "tests": tests,
        "lab_per_day": math.ceil(tests * per_day),
        "prevalence": prevalence,
        "tests_per_person": round(per_person, 4),
        "recommended_pool_size": best,
        "recommended_tests_per_person": round(dorfman_tests_per_person(prevalence, best), 4),
    }


def plan_round(
    *,
    node: Jurisdiction,
    hours: int = 24,
    pool_size: int = 10,
    prevalence: float | None = None,
) -> list[PlanRow]:
    """Need against what the registry holds, per district (or the node itself below district
    level). The prevalence is the one given, else each area's last rounds, else the default."""
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
        source = "input"
        expected = prevalence
        if expected is None:
            expected = area_prevalence(area)
            source = "rounds"
            if expected is None:
                expected, source = DEFAULT_PREVALENCE, "default"
        need = plan_numbers(population, hours=hours, pool_size=pool_size, prevalence=expected)
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
            prevalence_source=source,
        )
        row.shortfall = {
            "points": max(0, row.points_min - row.have_points),
            "desks": max(0, row.desks_min - row.have_desks),
            "samplers": max(0, row.samplers - row.have_samplers),
            "lab_per_day": max(0, row.lab_per_day - row.have_lab_per_day),
        }
        rows.append(row)
    return rows
