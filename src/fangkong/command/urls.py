"""Page routes of the command centre."""

from django.urls import path

from . import views

app_name = "command"
urlpatterns = [
    path("", views.tasks, name="tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/feedback/", views.task_feedback, name="task-feedback"),
    path("tasks/<int:pk>/state/", views.task_state, name="task-state"),
    path(
        "tasks/<int:pk>/updates/<int:update>/attachment/",
        views.task_attachment,
        name="task-attachment",
    ),
    path("inspections/", views.inspections, name="inspections"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection"),
    path("inspections/<int:pk>/checklist/", views.checklist, name="checklist"),
    path("findings/", views.findings, name="findings"),
    path("findings/<int:pk>/", views.finding_detail, name="finding"),
    path("findings/<int:pk>/evidence/", views.finding_evidence, name="finding-evidence"),
    path("response-level/", views.response_level, name="response-level"),
    path("risk-areas/", views.risk_areas, name="risk-areas"),
    path("proposals/<int:pk>/decide/", views.proposal_decide, name="proposal-decide"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("bulletins/", views.bulletins, name="bulletins"),
    path("bulletins/<int:pk>/", views.bulletin_detail, name="bulletin"),
    path("bulletins/<int:pk>/print/", views.bulletin_print, name="bulletin-print"),
    path("bulletins/<int:pk>/pdf/", views.bulletin_pdf, name="bulletin-pdf"),
]
