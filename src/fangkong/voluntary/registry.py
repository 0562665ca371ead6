"""What voluntary testing adds to the whole (see common.registry): the staff page, the demo, and
the booking QR code the sampling desk scans in place of the ID card."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry
from fangkong.testing.services.scanning import code_scanner

from .models import BOOKING_PREFIX
from .roles import can_view_bookings

registry.nav(85, "voluntary:staff", _("Voluntary testing"), can_view_bookings)

registry.demo_step(25, "fangkong.voluntary.demo.voluntary_demo")

# The sampling desk scans a booking's QR code in place of the ID card.
code_scanner(BOOKING_PREFIX, "fangkong.voluntary.services.booking_scan")
