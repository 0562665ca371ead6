"""The screening app's REST routes, for the project router."""

from .api import AssignmentViewSet, CampaignViewSet, FindingViewSet, VisitViewSet

ROUTES: list = [
    ("screening/campaigns", CampaignViewSet, "screening-campaign"),
    ("screening/visits", VisitViewSet, "screening-visit"),
    ("screening/findings", FindingViewSet, "screening-finding"),
    ("screening/assignments", AssignmentViewSet, "screening-assignment"),
]
