"""What control adds to the whole (see common.registry): pages, alerts, events, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import can_manage_orders, can_view_board

registry.nav(150, "control:board", _("Control board"), can_view_board)
registry.nav(160, "control:checks", _("Daily health checks"), can_manage_orders)

registry.alert_kind("control_missed", _("Missed health check"))
registry.alert_kind("control_fever", _("Fever under control"))
registry.alert_kind("control_symptom", _("Symptom under control"))
registry.alert_kind("control_positive", _("Positive test under control"))

registry.event(
    "control.order_opened",
    "control.test_positive",
    "control.order_released",
    "control.order_cancelled",
)

registry.demo_step(40, "fangkong.control.demo.control_demo")
