"""Page routes of the analytics module: the HQ dashboard and situation analysis."""

from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("panel/", views.dashboard_panel, name="dashboard-panel"),
    path("situation/", views.situation, name="situation"),
    path("plotly-<str:version>.min.js", views.plotly_js, name="plotly-js"),
]
