"""Page routes of resumption and readiness."""

from django.urls import path

from . import views

app_name = "resumption"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("apply/", views.apply, name="apply"),
    path("applications/<int:pk>/", views.application_detail, name="application"),
    path("applications/<int:pk>/decide/", views.application_decide, name="decide"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation"),
    path("readiness/", views.readiness_page, name="readiness"),
    path("readiness/dispatch/", views.readiness_dispatch, name="dispatch"),
]
