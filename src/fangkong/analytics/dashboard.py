"""The HQ dashboard (大屏) of one node: today's figures against yesterday's, the epidemic curve and
Rt, the map of the node's children, testing progress, occupancy, beds, supplies, overdue tasks
and open alerts, each read once, scoped to the node, as plain data and Plotly figure dicts.

Figures are built as plain dicts (not plotly.graph_objects, whose validation costs tens of
milliseconds a figure) and drawn by the Plotly.js the package ships.
"""

from __future__ import annotations

import datetime as dt
import math

from django.http import Http404
from django.utils.translation import gettext as _

from fangkong.common.scope import actor_path
from fangkong.geo.models import Jurisdiction

from . import situation

# The tiles across the top: figure key, and whether a rise is bad news (red) or good (green).
TILES = [
    ("cases_confirmed", True),
    ("cases_asymptomatic", True),
    ("cases_community", True),
    ("control_total", None),
    ("rooms_free", False),
    ("beds_free", False),
    ("tests_tubes_reported", False),
    ("tasks_overdue", True),
    ("vacc_full", False),
    ("vacc_booster", False),
]
CURVE_DAYS = 60
RT_AXIS_MAX = 6.0
COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603"]
RISK_COLOURS = {0: "#c0392b", 1: "#e67e22", 2: "#f1c40f", None: "#dfe6e9"}


def cache_seconds() -> int:
    """How long a node's figures are reused: the panel's refresh period (0 turns it off)."""
    from django.conf import settings

    return int(settings.FANGKONG_DASHBOARD_CACHE_SECONDS)


def dashboard_node(actor, code: str | None) -> Jurisdiction:
    """The node asked for (default: the actor's own; the top city for an operator), 404 when it
    lies outside the actor's subtree."""
    prefix = actor_path(actor)
    if prefix is None:
        raise Http404
    if code:
        node = Jurisdiction.objects.filter(code=code).first()
    elif getattr(actor, "jurisdiction_id", None):
        node = actor.jurisdiction
    else:
        node = Jurisdiction.objects.filter(level="city").order_by("path").first()
    if node is None or not node.path.startswith(prefix):
        raise Http404
    return node


def _beds(values: dict) -> dict:
    """Beds from whatever care provides: beds_total_<type>, beds_free_<type>, summed."""
    free = sum(v for k, v in values.items() if k.startswith("beds_free_") and v is not None)
    total = sum(v for k, v in values.items() if k.startswith("beds_total_") and v is not None)
    has = any(k.startswith("beds_") for k in values)
    return {"beds_free": free if has else None, "beds_total": total if has else None}


def tiles(today_values: dict, yesterday_values: dict) -> list[dict]:
    from fangkong.command import figures

    labels = {**figures.labels(), "beds_free": _("Beds free")}
    out = []
    for key, rise_is_bad in TILES:
        value, before = today_values.get(key), yesterday_values.get(key)
        delta = (
            value - before
            if isinstance(value, int | float) and isinstance(before, int | float)
            else None
        )
        tone = ""
        if delta and rise_is_bad is not None:
            tone = "bad" if (delta > 0) == rise_is_bad else "good"
        out.append(
            {
                "key": key,
                "label": str(labels.get(key, key)),
                "value": value,
                "delta": delta,
                "tone": tone,
            }
        )
    return out


def curve_figure(curve: dict, rt: situation.RtSeries) -> dict:
    dates = curve["dates"]
    report = curve["by_report"]
    shown = {k: rt.shown(getattr(rt, k)) for k in ("mean", "lower", "upper")}
    top = max((u for u in shown["upper"] if u is not None), default=2.0)
    # The Rt axis runs from 0 to a round value at most RT_AXIS_MAX, ticks every 0.5 or 1; the
    # band is clipped to it (an upper bound of 9 with a handful of cases ran off the plot).
    rt_top = min(math.ceil(max(2.0, top * 1.1) * 2) / 2, RT_AXIS_MAX)
    shown = {k: [None if v is None else min(v, rt_top) for v in vs] for k, vs in shown.items()}
    return {
        "data": [
            {
                "type": "bar",
                "x": dates,
                "y": report["under_control"],
                "name": _("Found under control"),
                "marker": {"color": "#74b9ff"},
            },
            {
                "type": "bar",
                "x": dates,
                "y": report["community"],
                "name": _("Found in the community"),
                "marker": {"color": "#e17055"},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": dates,
                "y": curve["by_onset"],
                "name": _("By onset date"),
                "line": {"color": "#2d3436", "dash": "dot"},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": dates,
                "y": shown["upper"],
                "yaxis": "y2",
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": dates,
                "y": shown["lower"],
                "yaxis": "y2",
                "fill": "tonexty",
                "fillcolor": "rgba(108,92,231,0.2)",
                "line": {"width": 0},
                "name": _("Rt 95% interval"),
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": dates,
                "y": shown["mean"],
                "yaxis": "y2",
                "name": "Rt",
                "line": {"color": "#6c5ce7", "width": 2},
            },
        ],
        "layout": {
            "barmode": "stack",
            "margin": {"l": 40, "r": 40, "t": 10, "b": 30},
            "height": 300,
            "legend": {"orientation": "h", "y": -0.15},
            "yaxis": {"title": {"text": _("New cases by report date")}},
            "yaxis2": {
                "title": {"text": "Rt"},
                "overlaying": "y",
                "side": "right",
                "range": [0, rt_top],
                "tickmode": "linear",
                "tick0": 0,
                "dtick": 0.5 if rt_top <= 3 else 1,
                "showgrid": False,
            },
            "shapes": [
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "yref": "y2",
                    "y0": 1,
                    "y1": 1,
                    "line": {"color": "#6c5ce7", "dash": "dash", "width": 1},
                }
            ],
        },
    }


def text_colour(fill: str) -> str:
    """White on a dark fill, near-black on a light one (WCAG relative luminance of the fill)."""
    r, g, b = (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    # Contrast with white beats contrast with #2d3436 (luminance 0.03) below about 0.24.
    return "#ffffff" if luminance < 0.24 else "#2d3436"


def _rings(outline: dict) -> list[list]:
    if not outline:
        return []
    if outline.get("type") == "Feature":
        outline = outline.get("geometry") or {}
    if outline.get("type") == "Polygon":
        return [outline["coordinates"][0]]
    if outline.get("type") == "MultiPolygon":
        return [polygon[0] for polygon in outline["coordinates"]]
    return []


def map_figure(
    *, node: Jurisdiction, children: list[Jurisdiction], cases_7d: dict, risk: dict, colour_by: str
) -> dict:
    """The children of the node as filled polygons on plain axes (no base map, no tiles),
    coloured by new cases of the last 7 days or by the strictest active risk area inside."""
    top = max(cases_7d.values(), default=0)
    traces = []
    for child in children:
        n = cases_7d.get(child.code, 0)
        if colour_by == "risk":
            colour = RISK_COLOURS[risk.get(child.code)]
        else:
            step = 0 if not n or not top else min(len(COLOURS) - 1, 1 + int(3 * n / top))
            colour = COLOURS[step]
        text = f"{child.name}<br>{_('New cases, 7 days')}: {n}"
        if child.code in risk:
            text += f"<br>{_('Risk area inside')}"
        for ring in _rings(child.outline):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": [p[0] for p in ring],
                    "y": [p[1] for p in ring],
                    "fill": "toself",
                    "fillcolor": colour,
                    "line": {"color": "#636e72", "width": 1},
                    "name": child.name,
                    "text": text,
                    "hoveron": "fills",
                    "hoverinfo": "text",
                    "showlegend": False,
                    "customdata": [child.code],
                }
            )
        xs = [p[0] for ring in _rings(child.outline) for p in ring]
        ys = [p[1] for ring in _rings(child.outline) for p in ring]
        if xs:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "text",
                    "x": [sum(xs) / len(xs)],
                    "y": [sum(ys) / len(ys)],
                    "text": [f"{child.name}<br>{n}"],
                    "textfont": {"size": 11, "color": text_colour(colour)},
                    # "none", not "skip": no label, but a click on the name still drills down.
                    "hoverinfo": "none",
                    "customdata": [child.code],
                    "showlegend": False,
                }
            )
    return {
        "data": traces,
        "layout": {
            "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
            "height": 360,
            "xaxis": {"visible": False},
            "yaxis": {"visible": False, "scaleanchor": "x", "scaleratio": 1.18},
            "hovermode": "closest",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "paper_bgcolor": "rgba(0,0,0,0)",
        },
        "has_outlines": any(t.get("fill") for t in traces),
    }


def _risk_by_child(node: Jurisdiction, children: list[Jurisdiction]) -> dict:
    from fangkong.command.models import SEVERITY, RiskArea

    out: dict[str, int] = {}
    areas = RiskArea.objects.filter(
        ended_on__isnull=True, external=False, jpath__startswith=node.path
    ).values_list("jpath", "level")
    for jpath, level in areas:
        for child in children:
            if jpath.startswith(child.path):
                severity = SEVERITY[level]
                out[child.code] = min(out.get(child.code, severity), severity)
                break
    return out


def _testing(actor, node: Jurisdiction) -> dict | None:
    from fangkong.testing import selectors as testing
    from fangkong.testing.models import Round

    round_ = testing.round_list(actor=actor).filter(status=Round.Status.OPEN).first()
    if round_ is None:
        return None
    progress = testing.round_progress(actor=actor, round_=round_, node=node)
    return {"round": round_, **progress}


def dashboard_data(*, actor, node: Jurisdiction, today: dt.date, colour_by: str = "cases") -> dict:
    from fangkong.command import figures
    from fangkong.command.selectors import task_list
    from fangkong.common.alerts import alert_list
    from fangkong.supplies.selectors import cover_table

    cfg = situation.config()
    yesterday = today - dt.timedelta(days=1)
    both = figures.collect_days(node.path, [yesterday, today], cache_seconds=cache_seconds())
    now_values, before_values = both[today], both[yesterday]
    now_values.update(_beds(now_values))
    before_values.update(_beds(before_values))
    start = today - dt.timedelta(days=CURVE_DAYS - 1)
    curve = situation.epicurve(node=node, start=start, end=today)
    rt = situation.rt_series(curve["total"], curve["dates"], cfg)
    series = situation.child_series(node=node, start=start, end=today)
    children = series["children"]
    cases_7d = {c.code: int(series["counts"][i, -7:].sum()) for i, c in enumerate(children)}
    rt_now = next(
        (
            {"mean": m, "lower": lo, "upper": up}
            for m, lo, up in zip(
                reversed(rt.mean), reversed(rt.lower), reversed(rt.upper), strict=True
            )
            if m is not None
        ),
        None,
    )
    overdue = task_list(actor=actor).filter(overdue=1, assignee_path__startswith=node.path)
    alerts = alert_list(actor=actor, open_only=True).filter(jurisdiction_path__startswith=node.path)
    supplies = sorted(
        cover_table(actor=None, node=node, today=today)["total"],
        key=lambda r: (r["days_of_cover"] is None, r["days_of_cover"] or 0),
    )
    return {
        "node": node,
        "today": today,
        "tiles": tiles(now_values, before_values),
        "figures": now_values,
        "rt_now": rt_now,
        "curve": curve_figure(curve, rt),
        "map": map_figure(
            node=node,
            children=children,
            cases_7d=cases_7d,
            risk=_risk_by_child(node, children),
            colour_by=colour_by,
        ),
        "children": [
            {"code": c.code, "name": c.name, "cases_7d": cases_7d[c.code]} for c in children
        ],
        "testing": _testing(actor, node),
        "supplies": supplies[:6],
        "overdue_count": overdue.count(),
        "overdue": list(overdue[:6]),
        "alerts_count": alerts.count(),
        "alerts": list(alerts[:6]),
        "colour_by": colour_by,
    }
