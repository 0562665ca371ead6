"""Page routes of the alert centre."""

from django.urls import path

from . import views

app_name = "common"
urlpatterns = [
    path("", views.alerts, name="alerts"),
    path("<int:pk>/acknowledge/", views.alert_ack, name="alert-ack"),
    path("groups/acknowledge/", views.alert_group_ack, name="alert-group-ack"),
]
