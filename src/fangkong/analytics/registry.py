"""What analytics adds to the whole (see common.registry): its pages and its demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import can_view_dashboard, can_view_situation

registry.nav(20, "analytics:dashboard", _("HQ dashboard"), can_view_dashboard)
registry.nav(30, "analytics:situation", _("Situation analysis"), can_view_situation)

registry.demo_step(90, "fangkong.analytics.demo.analytics_demo")

registry.warmup(10, "fangkong.analytics.warmup.dashboard")
