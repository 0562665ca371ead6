"""Page routes of the tracing module."""

from django.urls import path

from . import views

app_name = "tracing"
urlpatterns = [
    path("", views.cases, name="cases"),
    path("figures/", views.case_figures, name="case_figures"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/investigate/", views.investigate, name="investigate"),
    path("leads/", views.worklist, name="worklist"),
    path("leads/export.csv", views.leads_csv, name="leads_csv"),
    path("chains/", views.chains, name="chains"),
    path("chains/export.csv", views.chains_csv, name="chains_csv"),
    path("chains/<int:root>/", views.component, name="component"),
    path("clusters/<int:pk>/", views.cluster_event, name="cluster"),
    path("colocation/", views.colocation_page, name="colocation"),
    path("colocation/<int:pk>/", views.colocation_run, name="colocation_run"),
    path("colocation/<int:pk>/result.csv", views.colocation_result, name="colocation_result"),
]
