"""The analytics app's REST routes, for the project router."""

from .api import DashboardViewSet, SituationViewSet

ROUTES = [
    ("analytics/situation", SituationViewSet, "analytics-situation"),
    ("analytics/dashboard", DashboardViewSet, "analytics-dashboard"),
]
