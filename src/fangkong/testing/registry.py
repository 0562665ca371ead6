"""What testing adds to the whole (see common.registry): pages, alerts, events, demo story."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.common import registry

from .roles import can_report, can_sample, can_view_rechecks, can_view_rounds

registry.nav(70, "testing:rounds", pgettext_lazy("module", "Testing"), can_view_rounds)
registry.nav(80, "testing:scanner", _("Scanner"), can_sample)
registry.nav(90, "testing:lab", _("Lab"), can_report)
registry.nav(100, "testing:rechecks", _("Re-checks"), can_view_rechecks)

registry.alert_kind("pool_positive", _("Positive pool"))
registry.alert_kind("person_positive", _("Single-tube positive"))

registry.event("testing.pool_positive", "testing.person_positive")

registry.demo_step(20, "fangkong.testing.demo.testing_demo")
