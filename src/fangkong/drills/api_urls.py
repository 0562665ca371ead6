"""The drills app's REST routes, for the project router."""

from .api import DrillViewSet

ROUTES: list = [("drills", DrillViewSet, "drill")]
