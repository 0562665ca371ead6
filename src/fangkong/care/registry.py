"""What care adds to the whole (see common.registry): pages, alerts, events, figures, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import can_view_care

registry.nav(170, "care:overview", _("Bed board"), can_view_care)

registry.alert_kind("care_bed_needed", _("Bed of the needed type lacking"))

registry.event("care.admitted", "care.discharged")

registry.figure_provider(50, "fangkong.care.figures.bed_figures")

registry.demo_step(50, "fangkong.care.demo.care_demo")
