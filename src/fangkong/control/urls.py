"""Page routes of the control module."""

from django.urls import path

from . import views

app_name = "control"
urlpatterns = [
    path("", views.board, name="board"),
    path("checks/", views.checks, name="checks"),
    path("sites/<int:pk>/", views.room_board, name="site"),
    path("sites/<int:pk>/rooms/<int:room_pk>/", views.room_action, name="room-action"),
    path("orders/<int:pk>/release-notice/", views.release_notice, name="release_notice"),
    path("self/<str:token>/", views.self_report, name="self_report"),
]
