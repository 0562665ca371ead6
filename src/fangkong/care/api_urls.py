"""The care app's REST routes, for the project router."""

from .api import AdmissionViewSet, FacilityViewSet

ROUTES: list = [
    ("care/facilities", FacilityViewSet, "care-facility"),
    ("care/admissions", AdmissionViewSet, "care-admission"),
]
