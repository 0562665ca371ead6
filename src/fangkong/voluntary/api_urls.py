"""The voluntary app's REST routes, for the project router."""

from .api import (
    BookingViewSet,
    LookupViewSet,
    OpenSlotViewSet,
    ScheduleViewSet,
    SiteBookingViewSet,
    SlotViewSet,
)

ROUTES = [
    ("voluntary/open-slots", OpenSlotViewSet, "voluntary-open-slot"),
    ("voluntary/bookings", BookingViewSet, "voluntary-booking"),
    ("voluntary/lookup", LookupViewSet, "voluntary-lookup"),
    ("voluntary/schedules", ScheduleViewSet, "voluntary-schedule"),
    ("voluntary/slots", SlotViewSet, "voluntary-slot"),
    ("voluntary/site-bookings", SiteBookingViewSet, "voluntary-site-booking"),
]
