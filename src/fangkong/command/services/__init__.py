"""Writes of the command centre: tasks and escalation, inspections and findings, response levels, risk areas."""

from .risk_areas import *  # noqa: F403
from .risk_areas import _report_staff  # noqa: F401
