"""The vaccination app's REST routes, for the project router."""

from .api import (
    AefiViewSet,
    CoverageViewSet,
    DoseViewSet,
    OverdueViewSet,
    ProductViewSet,
    SiteViewSet,
    UnvaccinatedViewSet,
)

ROUTES: list = [
    ("vaccination/products", ProductViewSet, "vaccination-product"),
    ("vaccination/sites", SiteViewSet, "vaccination-site"),
    ("vaccination/doses", DoseViewSet, "vaccination-dose"),
    ("vaccination/coverage", CoverageViewSet, "vaccination-coverage"),
    ("vaccination/unvaccinated", UnvaccinatedViewSet, "vaccination-unvaccinated"),
    ("vaccination/overdue", OverdueViewSet, "vaccination-overdue"),
    ("vaccination/aefi", AefiViewSet, "vaccination-aefi"),
]
