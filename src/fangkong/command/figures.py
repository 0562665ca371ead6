"""The figures of a node's day, assembled from every module through a registry of providers.

A provider is a function ``figures(path, day) -> dict[str, int | float | None]`` over the subtree
at ``path`` for the local day ``day``. The daily report and the HQ dashboard both read the
merged dict, so a module that is built later (e.g. care's beds) plugs in by declaring its
provider in its own registry.py (``registry.figure_provider(order, dotted_path)``, see
common.registry) or in the ``FANGKONG_FIGURE_PROVIDERS`` setting, without any change here. A provider may carry ``figure_labels`` (key -> label), ``figure_minimum`` (keys rolled up
by minimum rather than by sum) and ``for_days`` (the same figures for several days in one call,
``for_days(path, days) -> {day: dict}``) as function attributes.

Every provider costs a handful of indexed aggregate queries, never a query per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.common import paths, registry

Provider = Callable[[str, dt.date], dict]


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The local (Asia/Shanghai) day as an aware [start, end) pair."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def providers() -> list[Provider]:
    declared = registry.figure_providers()
    extra = list(settings.FANGKONG_FIGURE_PROVIDERS)
    return [registry.load(p) for p in [*declared, *[e for e in extra if e not in declared]]]


def collect(path: str, day: dt.date) -> dict:
    """Every provider's figures for the subtree at ``path`` on ``day``, merged."""
    merged: dict = {}
    for provider in providers():
        merged.update(provider(path, day))
    return merged


def collect_days(path: str, days: list[dt.date], *, cache_seconds: int = 0) -> dict[dt.date, dict]:
    """`collect` for several days at once; providers with a multi-day form answer in one go.

    With `cache_seconds` the merged figures are kept that long per node and days (the HQ
    dashboard passes its refresh period: however many screens watch a node, its figures are
    computed once a refresh). Daily reports never pass it: a signature freezes fresh figures."""
    if cache_seconds > 0:
        from django.core.cache import cache

        key = f"fangkong:figures:{path}:{','.join(d.isoformat() for d in days)}"
        hit = cache.get(key)
        if hit is not None:
            return hit
        fresh = collect_days(path, days)
        cache.set(key, fresh, cache_seconds)
        return fresh
    merged: dict[dt.date, dict] = {day: {} for day in days}
    for provider in providers():
        many = getattr(provider, "for_days", None)
        if many is not None:
            for day, values in many(path, list(days)).items():
                merged[day].update(values)
        else:
            for day in days:
                merged[day].update(provider(path, day))
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


def _one_day(for_days):
    """The single-day provider of a multi-day one; collect_days() calls the multi-day form, so
    the dashboard's today-and-yesterday costs one scan per table instead of two."""

    def figures(path: str, day: dt.date) -> dict:
        return for_days(path, [day])[day]

    figures.for_days = for_days
    figures.__name__ = for_days.__name__.removesuffix("_days")
    figures.__doc__ = for_days.__doc__
    return figures


def case_figures_days(path: str, days: list[dt.date]) -> dict[dt.date, dict]:
    """New cases reported on each day by class, how the confirmed and asymptomatic ones were
    found, and the running totals: one aggregate over the subtree's cases."""
    from fangkong.tracing.models import Case, Classification, FoundBy

    positive = [Classification.CONFIRMED, Classification.ASYMPTOMATIC]
    control = Q(under_control_when_found=True) | Q(found_by=FoundBy.UNDER_CONTROL)
    aggregates = {}
    for i, day in enumerate(days):
        on = Q(report_date=day)
        aggregates |= {
            f"c{i}": Count("id", filter=on & Q(classification=Classification.CONFIRMED)),
            f"a{i}": Count("id", filter=on & Q(classification=Classification.ASYMPTOMATIC)),
            f"s{i}": Count("id", filter=on & Q(classification=Classification.SUSPECTED)),
            f"u{i}": Count("id", filter=on & Q(classification__in=positive) & control),
            f"m{i}": Count("id", filter=on & Q(classification__in=positive) & ~control),
            f"tc{i}": Count(
                "id",
                filter=Q(report_date__lte=day, classification=Classification.CONFIRMED),
            ),
            f"ta{i}": Count(
                "id",
                filter=Q(report_date__lte=day, classification=Classification.ASYMPTOMATIC),
            ),
        }
    row = Case.objects.filter(jpath__startswith=path, report_date__lte=max(days)).aggregate(
        **aggregates
    )
    return {
        day: {
            "cases_confirmed": row[f"c{i}"],
            "cases_asymptomatic": row[f"a{i}"],
            "cases_suspected": row[f"s{i}"],
            "cases_under_control": row[f"u{i}"],
            "cases_community": row[f"m{i}"],
            "cases_total_confirmed": row[f"tc{i}"],
            "cases_total_asymptomatic": row[f"ta{i}"],
        }
        for i, day in enumerate(days)
    }


def control_figures_days(path: str, days: list[dt.date]) -> dict[dt.date, dict]:
    """People under each control measure on each day, by control's own definition
    (``control.selectors.under_control_q``, which the control board counts too). One aggregate,
    grouped by measure: one filter per day on each step rather than one per day and measure
    (a fifth less time over the 300,000 steps of a 10-million city)."""
    from fangkong.control.models import Measure, OrderStep
    from fangkong.control.selectors import under_control_q

    aggregates = {f"d{i}": Count("id", filter=under_control_q(day)) for i, day in enumerate(days)}
    rows = (
        OrderStep.objects.filter(
            order__jpath__startswith=path,
            start_date__lte=max(days),
            end_date__gte=min(days),
        )
        .values("measure")
        .annotate(**aggregates)
        .order_by()
    )
    out = {day: {f"control_{m}": 0 for m in Measure.values} for day in days}
    for row in rows:
        key = f"control_{row['measure']}"
        for i, day in enumerate(days):
            if key in out[day]:
                out[day][key] += row[f"d{i}"]
    for values in out.values():
        values["control_total"] = sum(values.values())
    return out


def testing_figures_days(path: str, days: list[dt.date]) -> dict[dt.date, dict]:
    """Tubes and swabs sampled on each day, tubes reported and positive, and the rounds open now:
    one pass over the subtree's tubes of those days."""
    from fangkong.testing.models import Round, Tube

    first, _ = day_bounds(min(days))
    _, last = day_bounds(max(days))
    aggregates = {}
    for i, day in enumerate(days):
        start, end = day_bounds(day)
        sampled = Q(sampled_at__gte=start, sampled_at__lt=end)
        reported = Q(reported_at__gte=start, reported_at__lt=end)
        aggregates |= {
            f"st{i}": Count("id", filter=sampled),
            f"sw{i}": Sum("members", filter=sampled),
            f"rt{i}": Count("id", filter=reported),
            f"rp{i}": Count("id", filter=reported & Q(result="positive")),
        }
    row = (
        Tube.objects.filter(jpath__startswith=path)
        .filter(
            Q(sampled_at__gte=first, sampled_at__lt=last)
            | Q(reported_at__gte=first, reported_at__lt=last)
        )
        .aggregate(**aggregates)
    )
    rounds = (
        Round.objects.filter(status=Round.Status.OPEN)
        .filter(
            Q(scope_nodes__path__startswith=path) | Q(scope_nodes__path__in=paths.ancestors(path))
        )
        .values("id")
        .distinct()
        .count()
    )
    return {
        day: {
            "tests_tubes_sampled": row[f"st{i}"],
            "tests_swabs": row[f"sw{i}"] or 0,
            "tests_tubes_reported": row[f"rt{i}"],
            "tests_tubes_positive": row[f"rp{i}"],
            "tests_rounds_open": rounds,
        }
        for i, day in enumerate(days)
    }


def room_figures_days(path: str, days: list[dt.date]) -> dict[dt.date, dict]:
    """Isolation rooms in service, free and occupied now: rooms keep no history of their state,
    so every day asked for gets today's count."""
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
    values = {
        "rooms_total": counts["total"],
        "rooms_free": counts["free"],
        "rooms_occupied": counts["occupied"],
    }
    return {day: dict(values) for day in days}


case_figures = _one_day(case_figures_days)
control_figures = _one_day(control_figures_days)
testing_figures = _one_day(testing_figures_days)
room_figures = _one_day(room_figures_days)


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
