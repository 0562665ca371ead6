"""Writes of the command centre: tasks and escalation, inspections and findings, response levels, risk areas.

One module per section; this package re-exports them all, so `services.task_dispatch` and
`from fangkong.command.services import CommandRefused` read as before the split. A test that
patches a name patches it in the section module that looks it up."""

from ._common import CommandRefused
from .bulletins import bulletin_approve, bulletin_edit, bulletin_generate, bulletin_publish
from .daily_reports import (
    ENTRY_FIELDS,
    # Not public, but command/views.py asks it who may fill a report in.
    _report_staff,  # noqa: F401
    daily_report_fill,
    daily_report_return,
    daily_report_sign,
    daily_reports_assemble,
    daily_reports_flag_late,
    report_children,
    report_due_at,
    report_levels,
)
from .external_areas import IMPORT_COLUMNS, external_key, parse_risk_level, risk_areas_import
from .inspections import (
    default_template,
    finding_accept,
    finding_rectify,
    finding_reject,
    findings_overdue_alert,
    inspection_start,
    inspection_submit,
    may_accept,
)
from .risk_areas import (
    last_cases_from_findings,
    proposal_decide,
    response_level_declare,
    risk_area_declare,
    risk_area_update,
    risk_areas_review,
)
from .tasks import escalation_period, task_dispatch, task_feedback, task_set_state, tasks_escalate
from .units import unit_create

__all__ = [
    "CommandRefused",
    "ENTRY_FIELDS",
    "IMPORT_COLUMNS",
    "bulletin_approve",
    "bulletin_edit",
    "bulletin_generate",
    "bulletin_publish",
    "daily_report_fill",
    "daily_report_return",
    "daily_report_sign",
    "daily_reports_assemble",
    "daily_reports_flag_late",
    "default_template",
    "escalation_period",
    "external_key",
    "finding_accept",
    "finding_rectify",
    "finding_reject",
    "findings_overdue_alert",
    "inspection_start",
    "inspection_submit",
    "last_cases_from_findings",
    "may_accept",
    "parse_risk_level",
    "proposal_decide",
    "report_children",
    "report_due_at",
    "report_levels",
    "response_level_declare",
    "risk_area_declare",
    "risk_area_update",
    "risk_areas_import",
    "risk_areas_review",
    "task_dispatch",
    "task_feedback",
    "task_set_state",
    "tasks_escalate",
    "unit_create",
]
