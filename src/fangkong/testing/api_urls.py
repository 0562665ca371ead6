"""The testing app's REST routes, for the lead to register on the project router."""

from .api import (
    BoxViewSet,
    LabViewSet,
    RecheckViewSet,
    ResultViewSet,
    RoundViewSet,
    SiteViewSet,
    TestOrderViewSet,
    TubeViewSet,
)

ROUTES = [
    ("testing/rounds", RoundViewSet, "testing-round"),
    ("testing/sites", SiteViewSet, "testing-site"),
    ("testing/labs", LabViewSet, "testing-lab"),
    ("testing/tubes", TubeViewSet, "testing-tube"),
    ("testing/boxes", BoxViewSet, "testing-box"),
    ("testing/results", ResultViewSet, "testing-result"),
    ("testing/rechecks", RecheckViewSet, "testing-recheck"),
    ("testing/test-orders", TestOrderViewSet, "testing-test-order"),
]
