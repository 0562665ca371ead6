"""What vaccination adds to the whole (see common.registry): pages, alerts, events, figures, demo."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import can_import_doses, can_read_aefi, can_record_dose, can_work_lists

registry.nav(182, "vaccination:coverage", _("Vaccination coverage"))
registry.nav(184, "vaccination:lists", _("Vaccination lists"), can_work_lists)
registry.nav(185, "vaccination:record", _("Record a dose"), can_record_dose)
registry.nav(186, "vaccination:import", _("Import doses"), can_import_doses)
registry.nav(188, "vaccination:aefi-list", _("Adverse events (AEFI)"), can_read_aefi)

registry.alert_kind("vaccination_aefi_serious", _("Serious adverse event after vaccination"))

registry.event("vaccination.dose_recorded", "vaccination.aefi_reported")

registry.figure_provider(55, "fangkong.vaccination.figures.coverage_figures")

registry.demo_step(75, "fangkong.vaccination.demo.vaccination_demo")
