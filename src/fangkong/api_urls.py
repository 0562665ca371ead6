"""REST API routes, one router for every app."""

from django.urls import path
from rest_framework.routers import DefaultRouter, SimpleRouter
from rest_framework.urlpatterns import format_suffix_patterns

from fangkong.accounts.api import MeView, TokenView
from fangkong.analytics.api_urls import ROUTES as ANALYTICS_ROUTES
from fangkong.audit.api import AuditEntryViewSet
from fangkong.care.api_urls import ROUTES as CARE_ROUTES
from fangkong.checkpoints.api_urls import ROUTES as CHECKPOINT_ROUTES
from fangkong.command.api_urls import ROUTES as COMMAND_ROUTES
from fangkong.common.api import AlertViewSet, ImportJobViewSet
from fangkong.control.api_urls import ROUTES as CONTROL_ROUTES
from fangkong.drills.api_urls import ROUTES as DRILL_ROUTES
from fangkong.geo.api import JurisdictionViewSet
from fangkong.people.api import PersonViewSet
from fangkong.places.api_urls import PUBLIC_ROUTES as PLACES_PUBLIC_ROUTES
from fangkong.places.api_urls import ROUTES as PLACES_ROUTES
from fangkong.resumption.api_urls import ROUTES as RESUMPTION_ROUTES
from fangkong.screening.api_urls import ROUTES as SCREENING_ROUTES
from fangkong.supplies.api_urls import ROUTES as SUPPLIES_ROUTES
from fangkong.testing.api_urls import ROUTES as TESTING_ROUTES
from fangkong.tracing.api_urls import ROUTES as TRACING_ROUTES
from fangkong.vaccination.api_urls import ROUTES as VACCINATION_ROUTES
from fangkong.voluntary.api_urls import ROUTES as VOLUNTARY_ROUTES

router = DefaultRouter()
router.register("jurisdictions", JurisdictionViewSet, basename="jurisdiction")
router.register("people", PersonViewSet, basename="person")
router.register("imports", ImportJobViewSet, basename="import-job")
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("alerts", AlertViewSet, basename="alert")
for prefix, viewset, basename in [
    *TESTING_ROUTES,
    *TRACING_ROUTES,
    *CONTROL_ROUTES,
    *CARE_ROUTES,
    *CHECKPOINT_ROUTES,
    *SCREENING_ROUTES,
    *SUPPLIES_ROUTES,
    *COMMAND_ROUTES,
    *ANALYTICS_ROUTES,
    *RESUMPTION_ROUTES,
    *PLACES_ROUTES,
    *VACCINATION_ROUTES,
    *DRILL_ROUTES,
    *VOLUNTARY_ROUTES,
]:
    router.register(prefix, viewset, basename=basename)

# The public venue-code scan (about 500 a second at peak) is matched first: behind the router's
# few hundred patterns its resolution alone cost 1.8 ms a request, more than its INSERT.
hot = SimpleRouter()
for prefix, viewset, basename in PLACES_PUBLIC_ROUTES:
    hot.register(prefix, viewset, basename=basename)

urlpatterns = [
    *format_suffix_patterns(hot.urls),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    *router.urls,
]
