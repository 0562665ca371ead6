"""What supplies adds to the whole (see common.registry): pages, alerts, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import can_request, can_view_stock

registry.nav(260, "supplies:overview", _("Supplies"), can_view_stock)
registry.nav(270, "supplies:requests", _("Supply requests"), can_request)

registry.alert_kind("supply_shortage", _("Supply shortage"))

registry.demo_step(70, "fangkong.supplies.demo.supplies_demo")
