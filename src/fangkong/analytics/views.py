"""Pages of situation analysis and the HQ dashboard, and the Plotly.js the package ships."""

from pathlib import Path

import plotly
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from fangkong.geo.selectors import breadcrumbs

from . import dashboard as board
from . import situation as analysis

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@require_GET
@cache_control(public=True, max_age=31536000, immutable=True)
def plotly_js(request, version: str):
    """Plotly.js from the installed Python package: the dashboard works with no internet. The
    URL carries the version, so a browser keeps it for a year and an upgrade changes the URL."""
    if version != plotly.__version__ or not PLOTLY_JS.exists():
        raise Http404
    return FileResponse(PLOTLY_JS.open("rb"), content_type="text/javascript")


def _context(request):
    node = board.dashboard_node(request.user, request.GET.get("node"))
    colour_by = "risk" if request.GET.get("colour") == "risk" else "cases"
    data = board.dashboard_data(
        actor=request.user, node=node, today=timezone.localdate(), colour_by=colour_by
    )
    data["ancestors"] = breadcrumbs(actor=request.user, node=node)
    data["refreshed_at"] = timezone.localtime()
    return data


@login_required
def dashboard(request):
    """The HQ screen of one node (default: the user's own); the panel below refreshes itself."""
    return render(request, "analytics/dashboard.html", _context(request))


@login_required
def dashboard_panel(request):
    return render(request, "analytics/_dashboard_panel.html", _context(request))


@login_required
def situation(request):
    node = board.dashboard_node(request.user, request.GET.get("node"))
    result = analysis.situation(node=node, today=timezone.localdate())
    curve, rt = result["curve"], result["rt"]
    onset_fig = {
        "data": [
            {
                "type": "bar",
                "x": curve["dates"],
                "y": curve["by_onset"],
                "name": str(_("By onset date")),
                "marker": {"color": "#636e72"},
            },
        ],
        "layout": {"height": 240, "margin": {"l": 40, "r": 10, "t": 10, "b": 30}},
    }
    forecast_fig = None
    if result["forecast"]:
        f = result["forecast"]
        forecast_fig = {
            "data": [
                {
                    "type": "bar",
                    "x": curve["dates"][-30:],
                    "y": curve["total"][-30:],
                    "name": str(_("Observed")),
                    "marker": {"color": "#e17055"},
                },
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": f["dates"],
                    "y": f["upper"],
                    "line": {"width": 0},
                    "showlegend": False,
                    "hoverinfo": "skip",
                },
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": f["dates"],
                    "y": f["lower"],
                    "fill": "tonexty",
                    "fillcolor": "rgba(225,112,85,0.2)",
                    "line": {"width": 0},
                    "name": str(_("95% band")),
                },
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": f["dates"],
                    "y": f["median"],
                    "line": {"color": "#d63031", "dash": "dash"},
                    "name": str(_("Median")),
                },
            ],
            "layout": {
                "height": 280,
                "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
                "legend": {"orientation": "h"},
            },
        }
    rt_fig = board.curve_figure(curve, rt)
    return render(
        request,
        "analytics/situation.html",
        {
            **result,
            "ancestors": breadcrumbs(actor=request.user, node=node),
            "curve_fig": rt_fig,
            "onset_fig": onset_fig,
            "forecast_fig": forecast_fig,
            "growth_pct": {
                "r": 100 * result["growth"].r,
                "lower": 100 * result["growth"].r_lower,
                "upper": 100 * result["growth"].r_upper,
            }
            if result["growth"]
            else None,
        },
    )
