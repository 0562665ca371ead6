"""What supplies adds to the whole (see common.registry): pages, alerts, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

registry.nav(260, "supplies:overview", _("Supplies"))
registry.nav(270, "supplies:requests", _("Supply requests"))

registry.alert_kind("supply_shortage", _("Supply shortage"))

registry.demo_step(70, "fangkong.supplies.demo.supplies_demo")
