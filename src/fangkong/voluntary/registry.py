"""What voluntary testing adds to the whole (see common.registry): the staff page and the demo."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import can_view_bookings

registry.nav(85, "voluntary:staff", _("Voluntary testing"), can_view_bookings)

registry.demo_step(25, "fangkong.voluntary.demo.voluntary_demo")
