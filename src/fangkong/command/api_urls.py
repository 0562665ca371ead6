"""The command app's REST routes, for the lead to register on the project router."""

from .api import (
    BulletinViewSet,
    DailyReportViewSet,
    FindingViewSet,
    InspectionViewSet,
    ProposalViewSet,
    ResponseLevelViewSet,
    RiskAreaViewSet,
    TaskViewSet,
    UnitViewSet,
)

ROUTES = [
    ("command/units", UnitViewSet, "command-unit"),
    ("command/tasks", TaskViewSet, "command-task"),
    ("command/inspections", InspectionViewSet, "command-inspection"),
    ("command/findings", FindingViewSet, "command-finding"),
    ("command/response-levels", ResponseLevelViewSet, "command-response-level"),
    ("command/risk-areas", RiskAreaViewSet, "command-risk-area"),
    ("command/proposals", ProposalViewSet, "command-proposal"),
    ("command/daily-reports", DailyReportViewSet, "command-daily-report"),
    ("command/bulletins", BulletinViewSet, "command-bulletin"),
]
