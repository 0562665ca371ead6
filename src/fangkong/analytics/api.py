"""REST endpoints of situation analysis and the dashboard's figures, for other screens."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from . import dashboard as board
from . import situation as analysis

NODE = OpenApiParameter("node", str, description="jurisdiction code (default: the caller's node)")


class ForecastSerializer(serializers.Serializer):
    dates = serializers.ListField(child=serializers.DateField())
    median = serializers.ListField(child=serializers.FloatField())
    lower = serializers.ListField(child=serializers.FloatField())
    upper = serializers.ListField(child=serializers.FloatField())


class DemandSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    capacity = serializers.FloatField(allow_null=True)
    peak = serializers.FloatField(allow_null=True)
    runs_out_on = serializers.DateField(allow_null=True)
    may_run_out_on = serializers.DateField(allow_null=True)


class SituationSerializer(serializers.Serializer):
    node = serializers.CharField()
    today = serializers.DateField()
    dates = serializers.ListField(child=serializers.DateField())
    cases = serializers.ListField(child=serializers.IntegerField())
    community = serializers.ListField(child=serializers.IntegerField())
    by_onset = serializers.ListField(child=serializers.IntegerField())
    rt_mean = serializers.ListField(child=serializers.FloatField(allow_null=True))
    rt_lower = serializers.ListField(child=serializers.FloatField(allow_null=True))
    rt_upper = serializers.ListField(child=serializers.FloatField(allow_null=True))
    growth_rate = serializers.FloatField(allow_null=True)
    doubling_time = serializers.FloatField(allow_null=True)
    turning_point = serializers.BooleanField()
    forecast = ForecastSerializer(allow_null=True)
    demand = DemandSerializer(many=True)


class SituationViewSet(viewsets.ViewSet):
    """Epidemic curve, Rt, growth, turning point, forecast and resource demand of one node."""

    serializer_class = SituationSerializer

    @extend_schema(parameters=[NODE], responses={200: SituationSerializer})
    def list(self, request):
        node = board.dashboard_node(request.user, request.query_params.get("node"))
        s = analysis.situation(node=node, today=timezone.localdate())
        g = s["growth"]
        return Response(
            {
                "node": node.code,
                "today": s["today"],
                "dates": s["curve"]["dates"],
                "cases": s["curve"]["total"],
                "community": s["curve"]["by_report"]["community"],
                "by_onset": s["curve"]["by_onset"],
                "rt_mean": s["rt"].mean,
                "rt_lower": s["rt"].lower,
                "rt_upper": s["rt"].upper,
                "growth_rate": g.r if g else None,
                "doubling_time": g.doubling_time if g else None,
                "turning_point": s["turning_point"],
                "forecast": s["forecast"]
                and {k: s["forecast"][k] for k in ("dates", "median", "lower", "upper")},
                "demand": [
                    {
                        k: row[k]
                        for k in (
                            "key",
                            "label",
                            "capacity",
                            "peak",
                            "runs_out_on",
                            "may_run_out_on",
                        )
                    }
                    for row in s["demand"]
                ],
            }
        )


class TileSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    delta = serializers.FloatField(allow_null=True)


class DashboardSerializer(serializers.Serializer):
    node = serializers.CharField()
    today = serializers.DateField()
    tiles = TileSerializer(many=True)
    figures = serializers.DictField(child=serializers.FloatField(allow_null=True))
    overdue_tasks = serializers.IntegerField()
    open_alerts = serializers.IntegerField()
    curve = serializers.JSONField(help_text="Plotly figure of the epidemic curve and Rt")
    map = serializers.JSONField(help_text="Plotly figure of the children's outlines")


class DashboardViewSet(viewsets.ViewSet):
    """The HQ dashboard's figures for one node, as the page shows them."""

    serializer_class = DashboardSerializer

    @extend_schema(parameters=[NODE], responses={200: DashboardSerializer})
    def list(self, request):
        node = board.dashboard_node(request.user, request.query_params.get("node"))
        data = board.dashboard_data(actor=request.user, node=node, today=timezone.localdate())
        return Response(
            {
                "node": node.code,
                "today": data["today"],
                "tiles": [
                    {k: t[k] for k in ("key", "label", "value", "delta")} for t in data["tiles"]
                ],
                "figures": {
                    k: v
                    for k, v in data["figures"].items()
                    if isinstance(v, int | float) or v is None
                },
                "overdue_tasks": data["overdue_count"],
                "open_alerts": data["alerts_count"],
                "curve": data["curve"],
                "map": data["map"],
            }
        )
