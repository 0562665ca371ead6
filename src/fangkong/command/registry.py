"""What command adds to the whole (see common.registry): pages, alerts, daily figures, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import (
    can_edit_bulletin,
    can_view_inspections,
    can_view_picture,
    can_view_risk_areas,
)

registry.nav(200, "command:tasks", _("Tasks"))
registry.nav(210, "command:inspections", _("Inspections"), can_view_inspections)
registry.nav(220, "command:risk-areas", _("Risk areas"), can_view_risk_areas)
registry.nav(230, "command:response-level", _("Response level"))  # every level must know it
registry.nav(240, "command:reports", _("Daily reports"), can_view_picture)
registry.nav(250, "command:bulletins", _("Bulletins"), can_edit_bulletin)

registry.alert_kind("command.task_overdue", _("Task overdue"))
registry.alert_kind("command.finding_overdue", _("Rectification overdue"))
registry.alert_kind("command.report_late", _("Daily report late"))
registry.alert_kind("command.risk_proposal", _("Risk-area downgrade proposed"))

# A local risk area declared, changed or ended (area_id, jpath), and a response level declared
# (level_id, jpath): what follows from them elsewhere (places' closure orders) subscribes.
registry.event("command.risk_area_changed", "command.response_level_declared")

# The figures command computes over other modules' tables; care declares its own (order 50).
registry.figure_provider(10, "fangkong.command.figures.case_figures")
registry.figure_provider(20, "fangkong.command.figures.control_figures")
registry.figure_provider(30, "fangkong.command.figures.testing_figures")
registry.figure_provider(40, "fangkong.command.figures.room_figures")
registry.figure_provider(60, "fangkong.command.figures.supply_figures")
registry.figure_provider(70, "fangkong.command.figures.task_figures")

registry.demo_step(80, "fangkong.command.demo.command_demo")
