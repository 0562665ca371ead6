"""What screening adds to the whole (see common.registry): pages, alerts, events, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import can_follow, can_visit

registry.nav(173, "screening:campaigns", _("Screening campaigns"), can_follow)
registry.nav(177, "screening:work", _("Door-to-door visits"), can_visit)

registry.alert_kind("screening_symptom", _("Screening found fever or symptoms"))
registry.alert_kind("screening_unregistered", _("Risk-area arrival not in the registry"))

registry.event("screening.campaign_opened", "screening.visit_recorded")

registry.demo_step(65, "fangkong.screening.demo.screening_demo")
