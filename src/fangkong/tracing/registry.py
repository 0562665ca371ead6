"""What tracing adds to the whole (see common.registry): pages, alerts, events, subscriptions,
demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import events, registry

from . import handlers
from .roles import can_run_colocation, can_view_cases, can_view_chains, can_work_leads

registry.nav(110, "tracing:cases", _("Cases"), can_view_cases)
registry.nav(120, "tracing:worklist", _("Lead worklist"), can_work_leads)
registry.nav(130, "tracing:chains", _("Transmission chains"), can_view_chains)
registry.nav(140, "tracing:colocation", _("Big-data co-location"), can_run_colocation)

registry.alert_kind("tracing_leads", _("New leads for the grid"))
registry.alert_kind("tracing_unreachable", _("Lead unreachable"))

registry.event("tracing.case_opened", "tracing.case_reclassified", "tracing.case_severity")

events.subscribe("testing.person_positive", handlers.on_person_positive)
events.subscribe("control.test_positive", handlers.on_control_test_positive)

# Forgetting stale demo data comes first: every later step builds on a clean slate.
registry.demo_step(10, "fangkong.tracing.demo.stale_data_forget")
registry.demo_step(30, "fangkong.tracing.demo.tracing_demo")
