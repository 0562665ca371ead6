"""What analytics adds to the whole (see common.registry): its pages and its demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

registry.nav(20, "analytics:dashboard", _("HQ dashboard"))
registry.nav(30, "analytics:situation", _("Situation analysis"))

registry.demo_step(90, "fangkong.analytics.demo.analytics_demo")
