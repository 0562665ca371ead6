"""Page routes of mass testing."""

from django.urls import path

from . import views

app_name = "testing"
urlpatterns = [
    path("", views.rounds, name="rounds"),
    path("scanner/", views.scanner, name="scanner"),
    path("scanner/scan/", views.scan, name="scan"),
    path("lab/", views.lab, name="lab"),
    path("plan/", views.plan, name="plan"),
    path("rechecks/", views.rechecks, name="rechecks"),
    path("rounds/<str:code>/", views.round_detail, name="round"),
    path("rounds/<str:code>/untested/", views.untested, name="untested"),
    path("rounds/<str:code>/positives/", views.positives, name="positives"),
    path("rounds/<str:code>/turnaround/", views.turnaround, name="turnaround"),
]
