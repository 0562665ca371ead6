"""Page routes of door-to-door screening."""

from django.urls import path

from . import views

app_name = "screening"
urlpatterns = [
    path("", views.campaigns, name="campaigns"),
    path("campaigns/<int:pk>/", views.campaign, name="campaign"),
    path("campaigns/<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("campaigns/<int:pk>/deadline/", views.grid_deadline, name="grid_deadline"),
    path("campaigns/<int:pk>/reassign/", views.reassign, name="reassign"),
    path("work/", views.work, name="work"),
    path("sw.js", views.service_worker, name="sw"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
]
