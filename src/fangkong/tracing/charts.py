"""Plotly pictures of tracing: the transmission network and the daily cases found under control.
The page loads plotly.min.js with {% plotly_script %} (from the installed package), so it works offline."""

from __future__ import annotations

import json
from collections import defaultdict

import plotly.graph_objects as go
import plotly.io as pio
from django.urls import reverse
from django.utils.html import format_html, json_script
from django.utils.translation import gettext as _

from .models import Classification

COLOURS = {
    Classification.CONFIRMED: "#b71c1c",
    Classification.ASYMPTOMATIC: "#ef6c00",
    Classification.SUSPECTED: "#9e9d24",
    Classification.EXCLUDED: "#90a4ae",
}


def _layout(graph) -> dict[int, tuple[float, float]]:
    """A tidy picture without a graph library: each chain a horizontal band, generation on x,
    cases of one generation stacked inside the band; the largest chains on top."""
    by_component = defaultdict(list)
    for case in graph["cases"]:
        by_component[case["component"]].append(case)
    order = sorted(by_component.values(), key=lambda g: (-len(g), g[0]["report_date"]))
    pos, top = {}, 0.0
    for group in order:
        rows = defaultdict(int)
        for case in group:
            g = case["generation"]
            pos[case["id"]] = (g, -(top + rows[g]))
            rows[g] += 1
        top += max(rows.values()) + 1
    return pos


def network_html(graph, *, max_cases: int = 1500) -> str:
    linked = {a for a, _b, _s in graph["edges"]} | {b for _a, b, _s in graph["edges"]}
    cases = [c for c in graph["cases"] if c["id"] in linked][:max_cases]
    if not cases:
        return ""
    shown = {c["id"] for c in cases}
    sub = {**graph, "cases": cases}
    pos = _layout(sub)
    xs, ys = [], []
    for a, b, _s in graph["edges"]:
        if a in shown and b in shown:
            xs += [pos[a][0], pos[b][0], None]
            ys += [pos[a][1], pos[b][1], None]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line={"color": "#b0bec5", "width": 1},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    # One trace per class and "found under control": the legend's symbol is then the markers'
    # own (a diamond for a case found under control), not the first marker's.
    for (classification, colour), controlled in (
        (item, controlled) for item in COLOURS.items() for controlled in (False, True)
    ):
        group = [
            c
            for c in cases
            if c["classification"] == classification
            and bool(c["under_control_when_found"]) == controlled
        ]
        if not group:
            continue
        label = str(Classification(classification).label)
        fig.add_trace(
            go.Scatter(
                x=[pos[c["id"]][0] for c in group],
                y=[pos[c["id"]][1] for c in group],
                mode="markers+text",
                name=f"{label} · {_('found under control')}" if controlled else label,
                text=[c["code"][4:] for c in group],
                textposition="middle right",
                textfont={"size": 9},
                marker={
                    "size": 12,
                    "color": colour,
                    "symbol": "diamond" if controlled else "circle",
                    "line": {"width": 1, "color": "#fff"},
                },
                customdata=[reverse("tracing:case", args=[c["id"]]) for c in group],
                hovertext=[
                    f"{c['code']} {c['person__name']}<br>{_('report date')}: {c['report_date']}"
                    f"<br>{_('generation')}: {c['generation']}"
                    + (f"<br>{c['cluster_event__name']}" if c["cluster_event__name"] else "")
                    for c in group
                ],
                hoverinfo="text",
            )
        )
    height = max(320, min(2400, 22 * (1 + max(-y for _x, y in pos.values()))))
    fig.update_layout(
        height=height,
        # The legend sits above the plot area (anchored at its bottom), never over the root case.
        margin={"l": 20, "r": 20, "t": 60, "b": 30},
        xaxis={"title": _("generation"), "dtick": 1, "zeroline": False},
        yaxis={"visible": False},
        plot_bgcolor="#fff",
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
    )
    # A click on a case opens its page (static/fangkong/app.js, data-click="link").
    return figure_html(fig, "network", click="link")


def curve_html(rows) -> str:
    """New cases per report date, split by whether they were already under control."""
    if not rows:
        return ""
    days = [str(r["report_date"]) for r in rows]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=days,
            y=[r["under_control"] for r in rows],
            name=_("found under control"),
            marker_color="#1565c0",
        )
    )
    fig.add_trace(
        go.Bar(
            x=days,
            y=[r["cases"] - r["under_control"] for r in rows],
            name=_("found in the community"),
            marker_color="#b71c1c",
        )
    )
    fig.update_layout(
        barmode="stack",
        height=300,
        margin={"l": 40, "r": 20, "t": 30, "b": 40},
        legend={"orientation": "h", "y": 1.1},
        plot_bgcolor="#fff",
    )
    return figure_html(fig, "curve")


def figure_html(fig, div_id: str, click: str = "") -> str:
    """The chart's <div> and its figure as JSON; static/fangkong/app.js draws it (no inline
    script, which the Content Security Policy forbids)."""
    figure = json.loads(pio.to_json(fig, validate=False))
    return format_html(
        '<div id="{}" data-figure="{}-data"{}></div>{}',
        div_id,
        div_id,
        format_html(' data-click="{}"', click) if click else "",
        json_script(
            {"data": figure.get("data", []), "layout": figure.get("layout", {})}, f"{div_id}-data"
        ),
    )
