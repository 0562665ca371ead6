"""The resumption app's REST routes, for the lead to register on the project router."""

from .api import (
    ApplicationViewSet,
    OrganisationViewSet,
    ReadinessViewSet,
    StatusViewSet,
    WorkerViewSet,
)

ROUTES = [
    ("resumption/organisations", OrganisationViewSet, "resumption-organisation"),
    ("resumption/applications", ApplicationViewSet, "resumption-application"),
    ("resumption/workers", WorkerViewSet, "resumption-worker"),
    ("resumption/status", StatusViewSet, "resumption-status"),
    ("readiness", ReadinessViewSet, "readiness"),
]
