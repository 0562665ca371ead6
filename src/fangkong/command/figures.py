"""The figures of a node's day, assembled from every module through a registry of providers.

A provider is a function ``figures(path, day) -> dict[str, int | float | None]`` over the subtree
at ``path`` for the local day ``day``. The daily report and the HQ dashboard both read the
merged dict, so a module that is built later (e.g. care's beds) plugs in by adding its dotted
path to ``FIGURE_PROVIDERS`` (or to the ``FANGKONG_FIGURE_PROVIDERS`` setting) without any change
here. A provider may carry ``figure_labels`` (key -> label) and ``figure_minimum`` (keys rolled up
by minimum rather than by sum) as function attributes.

Every provider costs a handful of indexed aggregate queries, never a query per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from importlib import import_module

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

FIGURE_PROVIDERS: list[str] = [
    "fangkong.command.figures.case_figures",
    "fangkong.command.figures.control_figures",
    "fangkong.command.figures.testing_figures",
    "fangkong.command.figures.room_figures",
    "fangkong.command.figures.supply_figures",
    "fangkong.command.figures.task_figures",
]

Provider = Callable[[str, dt.date], dict]


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local (Asia/Shanghai) day as an aware [start, end) pair."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


@cache
def _load(dotted: str) -> Provider:
    module, name = dotted.rsplit(".", 1)
    return getattr(import_module(module), name)


def providers() -> list[Provider]:
    extra = list(getattr(settings, "FANGKONG_FIGURE_PROVIDERS", []))
    return [_load(p) for p in [*FIGURE_PROVIDERS, *[e for e in extra if e not in FIGURE_PROVIDERS]]]


def collect(path: str, day: dt.date) -> dict:
    """Every provider's figures for the subtree at ``path`` on ``day``, merged."""
    merged: dict = {}
    for provider in providers():
        merged.update(provider(path, day))
    return merged


def labels() -> dict[str, str]:
    out = dict(LABELS)
    for provider in providers():
        out.update(getattr(provider, "figure_labels", {}))
    return out


def minimum_keys() -> set[str]:
    keys = set(MINIMUM_KEYS)
    for provider in providers():
        keys.update(getattr(provider, "figure_minimum", ()))
    return keys


def roll_up(children: list[dict]) -> dict:
    """Sum the children's figures key by key; days of cover and the like take the minimum.
    A key none of them has stays absent; None (unknown, or unlimited cover) is skipped."""
    mins = minimum_keys()
    out: dict = {}
    for figures in children:
        for key, value in figures.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            if key not in out:
                out[key] = value
            elif key in mins:
                out[key] = min(out[key], value)
            else:
                out[key] = out[key] + value
    return {k: round(v, 1) if isinstance(v, float) else v for k, v in out.items()}


# --- the built-in providers ------------------------------------------------------------------


def case_figures(path: str, day: dt.date) -> dict:
    """New cases reported on the day by class, how the confirmed and asymptomatic ones were found,
    and the running totals."""
    from fangkong.tracing.models import Case, Classification, FoundBy

    cases = Case.objects.filter(jpath__startswith=path)
    positive = [Classification.CONFIRMED, Classification.ASYMPTOMATIC]
    control = Q(under_control_when_found=True) | Q(found_by=FoundBy.UNDER_CONTROL)
    new = cases.filter(report_date=day).aggregate(
        confirmed=Count("id", filter=Q(classification=Classification.CONFIRMED)),
        asymptomatic=Count("id", filter=Q(classification=Classification.ASYMPTOMATIC)),
        suspected=Count("id", filter=Q(classification=Classification.SUSPECTED)),
        under_control=Count("id", filter=Q(classification__in=positive) & control),
        community=Count("id", filter=Q(classification__in=positive) & ~control),
    )
    total = cases.filter(report_date__lte=day, classification__in=positive).aggregate(
        confirmed=Count("id", filter=Q(classification=Classification.CONFIRMED)),
        asymptomatic=Count("id", filter=Q(classification=Classification.ASYMPTOMATIC)),
    )
    return {
        "cases_confirmed": new["confirmed"],
        "cases_asymptomatic": new["asymptomatic"],
        "cases_suspected": new["suspected"],
        "cases_under_control": new["under_control"],
        "cases_community": new["community"],
        "cases_total_confirmed": total["confirmed"],
        "cases_total_asymptomatic": total["asymptomatic"],
    }


def control_figures(path: str, day: dt.date) -> dict:
    """People under each control measure on the day: the step of each order in force then."""
    from fangkong.control.models import Measure, OrderStep

    _start, end = day_bounds(day)
    steps = (
        OrderStep.objects.filter(
            order__jpath__startswith=path,
            start_date__lte=day,
            end_date__gte=day,
            order__start_date__lte=day,
        )
        .exclude(order__status="cancelled")
        .exclude(order__released_at__lt=end - dt.timedelta(days=1))
        .values_list("measure")
        .annotate(n=Count("order_id", distinct=True))
        .order_by()
    )
    counts = dict(steps)
    out = {f"control_{m}": counts.get(m, 0) for m in Measure.values}
    out["control_total"] = sum(out.values())
    return out


def testing_figures(path: str, day: dt.date) -> dict:
    """Tubes and swabs sampled on the day, tubes reported and positive, rounds open now."""
    from fangkong.testing.models import Round, Tube

    start, end = day_bounds(day)
    tubes = Tube.objects.filter(jpath__startswith=path)
    sampled = tubes.filter(sampled_at__gte=start, sampled_at__lt=end).aggregate(
        tubes=Count("id"), swabs=Sum("members")
    )
    reported = tubes.filter(reported_at__gte=start, reported_at__lt=end).aggregate(
        tubes=Count("id"), positive=Count("id", filter=Q(result="positive"))
    )
    from fangkong.testing.selectors import _ancestors

    rounds = (
        Round.objects.filter(status=Round.Status.OPEN)
        .filter(Q(scope_nodes__path__startswith=path) | Q(scope_nodes__path__in=_ancestors(path)))
        .values("id")
        .distinct()
        .count()
    )
    return {
        "tests_tubes_sampled": sampled["tubes"],
        "tests_swabs": sampled["swabs"] or 0,
        "tests_tubes_reported": reported["tubes"],
        "tests_tubes_positive": reported["positive"],
        "tests_rounds_open": rounds,
    }


def room_figures(path: str, day: dt.date) -> dict:
    """Isolation rooms in service and free now (rooms keep no history of their state)."""
    from fangkong.control.models import Room

    counts = (
        Room.objects.filter(site__jpath__startswith=path, site__active=True)
        .exclude(state=Room.State.OUT_OF_SERVICE)
        .aggregate(
            total=Count("id"),
            free=Count("id", filter=Q(state=Room.State.VACANT)),
            occupied=Count("id", filter=Q(state=Room.State.OCCUPIED)),
        )
    )
    return {
        "rooms_total": counts["total"],
        "rooms_free": counts["free"],
        "rooms_occupied": counts["occupied"],
    }


def supply_figures(path: str, day: dt.date) -> dict:
    """The shortest days of cover of any item used under the node, and how many items are short."""
    from fangkong.geo.models import Jurisdiction
    from fangkong.supplies.selectors import cover_table

    node = Jurisdiction.objects.filter(path=path).first()
    if node is None:
        return {}
    rows = cover_table(actor=None, node=node, today=day)["total"]
    covers = [r["days_of_cover"] for r in rows if r["days_of_cover"] is not None]
    return {
        "supplies_min_cover_days": min(covers) if covers else None,
        "supplies_short_items": sum(1 for r in rows if r["short"]),
    }


def task_figures(path: str, day: dt.date) -> dict:
    """Tasks assigned inside the subtree still open at the end of the day past their deadline."""
    from fangkong.command.models import Task

    _start, end = day_bounds(day)
    cutoff = min(end, timezone.now())
    overdue = (
        Task.objects.filter(assignee_path__startswith=path, deadline__lt=cutoff)
        .filter(Q(state__in=Task.ACTIVE) | Q(finished_at__gt=cutoff))
        .count()
    )
    return {"tasks_overdue": overdue}


MINIMUM_KEYS = {"supplies_min_cover_days"}

LABELS: dict[str, str] = {
    "cases_confirmed": _("New confirmed cases"),
    "cases_asymptomatic": _("New asymptomatic carriers"),
    "cases_suspected": _("New suspected cases"),
    "cases_under_control": _("of which found under control"),
    "cases_community": _("of which found in the community"),
    "cases_total_confirmed": _("Confirmed cases in all"),
    "cases_total_asymptomatic": _("Asymptomatic carriers in all"),
    "control_centralized": _("Under centralized isolation"),
    "control_home_isolation": _("Under home isolation"),
    "control_home_monitoring": _("Under home health monitoring"),
    "control_self_monitoring": _("Under daily self-monitoring"),
    "control_total": _("Under control in all"),
    "tests_tubes_sampled": _("Tubes sampled"),
    "tests_swabs": _("People swabbed"),
    "tests_tubes_reported": _("Tubes reported"),
    "tests_tubes_positive": _("Positive tubes"),
    "tests_rounds_open": _("Testing rounds open"),
    "rooms_total": _("Isolation rooms in service"),
    "rooms_free": _("Isolation rooms free"),
    "rooms_occupied": _("Isolation rooms occupied"),
    "supplies_min_cover_days": _("Shortest days of cover of any item"),
    "supplies_short_items": _("Items short"),
    "tasks_overdue": _("Overdue tasks"),
}
