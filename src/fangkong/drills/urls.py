"""Page routes of drills."""

from django.urls import path

from . import views

app_name = "drills"
urlpatterns = [
    path("", views.drill_list, name="list"),
    path("<int:pk>/", views.drill_detail, name="drill"),
    path("<int:pk>/start/", views.start, name="start"),
    path("<int:pk>/step/", views.step, name="step"),
    path("<int:pk>/end/", views.end, name="end"),
    path("<int:pk>/join/", views.join, name="join"),
    path("<int:pk>/leave/", views.leave, name="leave"),
]
