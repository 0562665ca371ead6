"""The control app's REST routes, for the lead to register on the project router."""

from .api import IsolationSiteViewSet, OrderViewSet

ROUTES = [
    ("control/orders", OrderViewSet, "control-order"),
    ("control/sites", IsolationSiteViewSet, "control-site"),
]
