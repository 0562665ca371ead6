"""The places app's REST routes, for the project router."""

from .api import DutyCheckViewSet, OrderViewSet, PlaceViewSet, VisitViewSet

ROUTES: list = [
    ("places/places", PlaceViewSet, "place"),
    ("places/duty-checks", DutyCheckViewSet, "place-duty-check"),
    ("places/orders", OrderViewSet, "place-order"),
]
# The public scan, registered ahead of every other route (fangkong.api_urls).
PUBLIC_ROUTES: list = [("places/visits", VisitViewSet, "place-visit")]
