"""What places adds to the whole (see common.registry): pages, subscriptions, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import events, registry

from . import colocation, services
from .roles import can_view_places

registry.nav(175, "places:list", _("Key places"), can_view_places)

# A confirmed case's venue visits become leads the same day (see places.colocation).
events.subscribe("tracing.case_opened", colocation.on_case)
events.subscribe("tracing.case_reclassified", colocation.on_case)

# A risk area or response level declared, changed or ended: the places under it follow.
events.subscribe("command.risk_area_changed", services.on_command_change)
events.subscribe("command.response_level_declared", services.on_command_change)

registry.demo_step(35, "fangkong.places.demo.places_demo")
