"""Situation analysis (研判形势) of a node: epidemic curves, Rt, growth, the turning point, a
short-term forecast and the resources it implies against capacity.

The counts come from ``tracing.Case`` in a few GROUP BY queries over the node's subtree; the
statistics are the vectorised ``rt.py`` and ``growth.py``. Assumptions that are policy rather than
code (serial interval, contacts per case, days of isolation and of stay per bed type) live in
``settings.FANGKONG_SITUATION`` with the defaults below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Count, Q, Sum, Value
from django.db.models.functions import Greatest, StrIndex, Substr
from django.utils.translation import gettext as _

from fangkong.geo.models import Jurisdiction

from . import growth, rt

DEFAULTS = {
    # Omicron-era serial interval (days); EpiEstim's parametric SI.
    "si_mean": 4.0,
    "si_sd": 2.5,
    "window": 7,
    # No Rt is shown where the window holds fewer cases than this: the posterior is then mostly
    # the prior (EpiEstim warns below 12 cases in a window; Cori et al. 2013), and a district
    # with no case in a week showed "Rt 1.54" (issue 16).
    "min_window_cases": 12,
    # Turning point: Rt's upper bound below 1 on this many consecutive days, and community
    # cases falling week on week.
    "turning_days": 7,
    "horizon": 14,
    "simulations": 1000,
    # Each new case brings this many close contacts into centralized isolation for so many days.
    "contacts_per_case": 8,
    "isolation_days": 7,
    # Share of new cases per bed type (care's types: critical cases in ICU, moderate and severe
    # in general wards, mild and asymptomatic in cabin hospitals) and the days a bed stays taken.
    "beds": {"icu": (0.02, 14), "general": (0.13, 14), "fangcang": (0.85, 10)},
    # Tests a day: one per person under control (daily tests in the first days), and the
    # close contacts' household screening per new case.
    "tests_per_controlled": 1.0,
    "tests_per_case": 50,
}


def config() -> dict:
    return {**DEFAULTS, **settings.FANGKONG_SITUATION}


POSITIVE = ("confirmed", "asymptomatic")


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _control_q() -> Q:
    return Q(under_control_when_found=True) | Q(found_by="under_control")


def epicurve(*, node: Jurisdiction, start: dt.date, end: dt.date) -> dict:
    """Daily confirmed and asymptomatic cases of the subtree, by report date (split by how they
    were found) and by onset date (asymptomatic carriers have no onset). Two queries."""
    from fangkong.tracing.models import Case

    days = _days(start, end)
    index = {d: i for i, d in enumerate(days)}
    n = len(days)
    cases = Case.objects.filter(jpath__startswith=node.path, classification__in=POSITIVE)
    report = {k: [0] * n for k in ("confirmed", "asymptomatic", "under_control", "community")}
    for day, cls, under_control, count in (
        cases.filter(report_date__range=(start, end))
        .values("report_date", "classification")
        .annotate(under=Count("id", filter=_control_q()), n=Count("id"))
        .values_list("report_date", "classification", "under", "n")
        .order_by()
    ):
        i = index[day]
        report[cls][i] += count
        report["under_control"][i] += under_control
        report["community"][i] += count - under_control
    onset = [0] * n
    for day, count in (
        cases.filter(onset_date__range=(start, end), classification="confirmed")
        .values_list("onset_date")
        .annotate(n=Count("id"))
        .order_by()
    ):
        onset[index[day]] += count
    total = [a + b for a, b in zip(report["confirmed"], report["asymptomatic"], strict=True)]
    return {
        "dates": [d.isoformat() for d in days],
        "by_report": report,
        "total": total,
        "by_onset": onset,
    }


def _child_code(field: str, node_path: str):
    rest = Substr(field, len(node_path) + 1)
    return Substr(rest, 1, Greatest(StrIndex(rest, Value("/")) - 1, Value(0)))


def child_series(*, node: Jurisdiction, start: dt.date, end: dt.date) -> dict:
    """New cases per day of each child of the node, as a [children × days] array. One query."""
    from fangkong.tracing.models import Case

    children = list(Jurisdiction.objects.filter(parent=node).order_by("path"))
    days = _days(start, end)
    row = {c.code: i for i, c in enumerate(children)}
    col = {d: i for i, d in enumerate(days)}
    matrix = np.zeros((len(children), len(days)), dtype=np.int64)
    for code, day, count in (
        Case.objects.filter(
            jpath__startswith=node.path,
            classification__in=POSITIVE,
            report_date__range=(start, end),
        )
        .annotate(child=_child_code("jpath", node.path))
        .values_list("child", "report_date")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if code in row:
            matrix[row[code], col[day]] += count
    return {"children": children, "dates": days, "counts": matrix}


@dataclass(frozen=True)
class RtSeries:
    """Rt per day. ``mean``, ``lower`` and ``upper`` are None where the window holds fewer than
    ``min_window_cases`` cases (what every page and the API show); ``raw_upper`` keeps every
    estimate for the turning-point rule, which asks for the upper bound below 1 as cases fade."""

    dates: list[str]
    mean: list[float | None]
    lower: list[float | None]
    upper: list[float | None]
    last_shape: float | None
    last_scale: float | None
    window_cases: list[int] | None = None
    raw_upper: list[float | None] | None = None

    def shown(self, values: list, minimum: int = 12) -> list:
        cases = self.window_cases or [minimum] * len(values)
        return [v if c >= minimum else None for v, c in zip(values, cases, strict=True)]


def rt_series(counts, dates: list[str], cfg: dict | None = None) -> RtSeries:
    """Rt per day (None before the first full window and where the window has too few cases),
    aligned with `dates`."""
    cfg = cfg or config()
    counts = np.asarray(counts, dtype=float)
    n = counts.size
    window = cfg["window"]
    minimum = cfg.get("min_window_cases", DEFAULTS["min_window_cases"])
    sums = np.convolve(counts, np.ones(window), mode="full")[:n]
    window_cases = [int(x) for x in sums]
    mean = [None] * n
    lower = [None] * n
    upper = [None] * n
    if n < 2:
        return RtSeries(dates, mean, lower, upper, None, None, window_cases, list(upper))
    est = rt.rt_cori_many(
        counts[np.newaxis, :], si_mean=cfg["si_mean"], si_sd=cfg["si_sd"], window=cfg["window"]
    )
    m, lo, up = est.mean[0], est.lower[0], est.upper[0]
    for i, t in enumerate(est.t_end):
        mean[t], lower[t], upper[t] = (round(float(x), 3) for x in (m[i], lo[i], up[i]))
    raw_upper = list(upper)
    thin = [c < minimum for c in window_cases]
    mean, lower, upper = (
        [None if t else v for v, t in zip(xs, thin, strict=True)] for xs in (mean, lower, upper)
    )
    if est.t_end.size == 0:
        return RtSeries(dates, mean, lower, upper, None, None, window_cases, raw_upper)
    return RtSeries(
        dates,
        mean,
        lower,
        upper,
        float(est.shape[0, -1]),
        float(est.scale[0, -1]),
        window_cases,
        raw_upper,
    )


def rt_by_child(*, node: Jurisdiction, start: dt.date, end: dt.date, cfg=None) -> list[dict]:
    """The latest Rt of every child of the node, estimated for all of them in one vectorised call;
    none for a child whose last window holds fewer than ``min_window_cases`` cases."""
    cfg = cfg or config()
    minimum = cfg.get("min_window_cases", DEFAULTS["min_window_cases"])
    series = child_series(node=node, start=start, end=end)
    if not series["children"]:
        return []
    est = rt.rt_cori_many(
        series["counts"], si_mean=cfg["si_mean"], si_sd=cfg["si_sd"], window=cfg["window"]
    )
    out = []
    for i, child in enumerate(series["children"]):
        counts = series["counts"][i]
        in_window = int(counts[-cfg["window"] :].sum())
        has = est.t_end.size > 0 and in_window >= minimum
        out.append(
            {
                "code": child.code,
                "name": child.name,
                "cases_7d": int(counts[-7:].sum()),
                "cases": int(counts.sum()),
                "rt_mean": round(float(est.mean[i, -1]), 2) if has else None,
                "rt_lower": round(float(est.lower[i, -1]), 2) if has else None,
                "rt_upper": round(float(est.upper[i, -1]), 2) if has else None,
            }
        )
    return out


def forecast(
    counts,
    *,
    horizon: int,
    shape: float,
    scale: float,
    si_mean: float,
    si_sd: float,
    simulations: int = 1000,
    seed: int = 0,
) -> dict:
    """Renewal-equation projection of daily cases ``horizon`` days ahead.

    Each simulation draws one R from Rt's posterior of the last window (gamma shape, scale) and
    keeps it; day by day the expected cases are R times the infectivity of all earlier cases
    (observed, then simulated) weighted by the serial interval, and the count is a Poisson draw.
    The band is the 2.5-97.5 % range of the simulations, the line their median. Vectorised over
    simulations; seeded, so a page shows the same band on every refresh."""
    history = np.asarray(counts, dtype=float)
    T = history.size
    rng = np.random.default_rng(seed)
    w = rt.discretise_si(si_mean, si_sd, T + horizon)
    r = rng.gamma(shape, scale, size=simulations)
    sims = np.zeros((simulations, T + horizon))
    sims[:, :T] = history
    for t in range(T, T + horizon):
        lam = sims[:, :t] @ w[t:0:-1]
        sims[:, t] = rng.poisson(r * lam)
    future = sims[:, T:]
    return {
        "median": np.median(future, axis=0).tolist(),
        "lower": np.quantile(future, 0.025, axis=0).tolist(),
        "upper": np.quantile(future, 0.975, axis=0).tolist(),
        "mean": future.mean(axis=0).tolist(),
        "r_mean": float(shape * scale),
    }


def run_out_date(demand, capacity: float | None, start: dt.date) -> dt.date | None:
    """The first day (start = day 0) on which demand exceeds capacity; None if it never does in
    the horizon or the capacity is unknown."""
    if capacity is None:
        return None
    for i, need in enumerate(demand):
        if need > capacity:
            return start + dt.timedelta(days=i)
    return None


def occupancy(new_per_day, *, current: float, stay: int, share: float = 1.0) -> list[float]:
    """People occupying a resource on each future day: today's occupants leave evenly over the
    stay, and each day's newcomers (``share`` of the new cases) stay ``stay`` days."""
    out = []
    arrivals = [share * x for x in new_per_day]
    for t in range(len(arrivals)):
        staying = max(0.0, 1.0 - (t + 1) / stay) * current
        recent = sum(arrivals[max(0, t - stay + 1) : t + 1])
        out.append(round(staying + recent, 1))
    return out


def resource_demand(
    *, node: Jurisdiction, today: dt.date, projection: dict, figures: dict, cfg=None
) -> list[dict]:
    """Rooms, beds by type, tests a day and supplies the projection implies, each against its
    capacity, with the day it runs out (by the median and by the pessimistic upper band)."""
    from fangkong.supplies.selectors import cover_table
    from fangkong.testing.models import Lab

    cfg = cfg or config()
    start = today + dt.timedelta(days=1)
    rows = []

    def row(key, label, capacity, median, upper, unit=""):
        rows.append(
            {
                "key": key,
                "label": label,
                "unit": unit,
                "capacity": capacity,
                "today": median[0] if median else None,
                "peak": max(median) if median else None,
                "peak_upper": max(upper) if upper else None,
                "median": median,
                "upper": upper,
                "runs_out_on": run_out_date(median, capacity, start),
                "may_run_out_on": run_out_date(upper, capacity, start),
            }
        )

    k, days = cfg["contacts_per_case"], cfg["isolation_days"]
    contacts_med = [k * x for x in projection["median"]]
    contacts_up = [k * x for x in projection["upper"]]
    occupied = figures.get("rooms_occupied") or 0
    rooms_total = figures.get("rooms_total")
    rooms_med = occupancy(contacts_med, current=occupied, stay=days)
    rooms_up = occupancy(contacts_up, current=occupied, stay=days)
    row("rooms", _("Isolation rooms"), rooms_total or None, rooms_med, rooms_up)
    for bed_type, (share, stay) in cfg["beds"].items():
        capacity = figures.get(f"beds_total_{bed_type}")
        current = figures.get(f"beds_occupied_{bed_type}") or 0
        labels = {
            "icu": _("ICU beds"),
            "general": _("General beds"),
            "fangcang": _("Cabin-hospital beds"),
        }
        row(
            f"beds_{bed_type}",
            labels.get(bed_type, bed_type),
            capacity,
            occupancy(projection["median"], current=current, stay=stay, share=share),
            occupancy(projection["upper"], current=current, stay=stay, share=share),
        )
    lab_capacity = (
        Lab.objects.filter(jpath__startswith=node.path).aggregate(n=Sum("daily_capacity"))["n"]
        or None
    )
    controlled = figures.get("control_total") or 0
    per_controlled, per_case = cfg["tests_per_controlled"], cfg["tests_per_case"]
    tests_med = [
        round(per_controlled * (controlled + r) + per_case * x, 0)
        for r, x in zip(rooms_med, projection["median"], strict=True)
    ]
    tests_up = [
        round(per_controlled * (controlled + r) + per_case * x, 0)
        for r, x in zip(rooms_up, projection["upper"], strict=True)
    ]
    row("tests", _("Tests a day (tubes)"), lab_capacity, tests_med, tests_up)
    # Supplies are used in proportion to the people in isolation: the cumulative use from
    # tomorrow against today's stock.
    scale_med = [(r / occupied) if occupied else 1.0 for r in rooms_med]
    scale_up = [(r / occupied) if occupied else 1.0 for r in rooms_up]
    for item in cover_table(actor=None, node=node, today=today)["total"]:
        if not item["daily_use"]:
            continue
        use_med = np.cumsum([item["daily_use"] * s for s in scale_med]).round(1).tolist()
        use_up = np.cumsum([item["daily_use"] * s for s in scale_up]).round(1).tolist()
        row(
            f"supply_{item['item_code']}",
            item["item_name"],
            item["stock"],
            use_med,
            use_up,
            unit=item["unit"],
        )
    return rows


def situation(*, node: Jurisdiction, today: dt.date, days: int = 60, cfg=None) -> dict:
    """Everything the situation page shows for one node."""
    from fangkong.command import figures as figure_providers

    cfg = cfg or config()
    start = today - dt.timedelta(days=days - 1)
    curve = epicurve(node=node, start=start, end=today)
    series = rt_series(curve["total"], curve["dates"], cfg)
    g7 = growth.growth_rate(curve["total"], window=7)
    upper = [np.nan if u is None else u for u in series.raw_upper]
    turned = growth.turning_point(upper, curve["by_report"]["community"], days=cfg["turning_days"])
    below_days = 0
    for u in reversed(upper):
        if np.isnan(u) or u >= 1:
            break
        below_days += 1
    projection = None
    demand: list[dict] = []
    from .dashboard import cache_seconds

    figures = figure_providers.collect_days(node.path, [today], cache_seconds=cache_seconds())[
        today
    ]
    if series.last_shape is not None:
        projection = forecast(
            curve["total"],
            horizon=cfg["horizon"],
            shape=series.last_shape,
            scale=series.last_scale,
            si_mean=cfg["si_mean"],
            si_sd=cfg["si_sd"],
            simulations=cfg["simulations"],
            seed=int(node.pk or 0),
        )
        projection["dates"] = [
            (today + dt.timedelta(days=i + 1)).isoformat() for i in range(cfg["horizon"])
        ]
        demand = resource_demand(
            node=node, today=today, projection=projection, figures=figures, cfg=cfg
        )
    week = sum(curve["by_report"]["community"][-7:])
    week_before = sum(curve["by_report"]["community"][-14:-7])
    return {
        "node": node,
        "today": today,
        "config": cfg,
        "curve": curve,
        "rt": series,
        "rt_now": next(
            (
                {"mean": m, "lower": lo, "upper": up, "date": d}
                for m, lo, up, d in reversed(
                    list(zip(series.mean, series.lower, series.upper, series.dates, strict=True))
                )
                if m is not None
            ),
            None,
        ),
        "growth": g7,
        "turning_point": turned,
        "rt_below_one_days": below_days,
        "community_week": week,
        "community_week_before": week_before,
        "forecast": projection,
        "demand": demand,
        "children": rt_by_child(node=node, start=start, end=today, cfg=cfg),
        "figures": figures,
    }
