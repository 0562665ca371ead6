"""Page routes of voluntary testing: the resident's public pages and the staff's."""

from django.urls import path

from . import views

app_name = "voluntary"
urlpatterns = [
    path("", views.index, name="index"),
    path("book/", views.book, name="book"),
    path("mine/", views.mine, name="mine"),
    path("mine/qr.png", views.qr_png, name="qr"),
    path("results/", views.results, name="results"),
    path("staff/", views.staff, name="staff"),
    path("staff/schedules/<int:pk>/", views.schedule, name="schedule"),
]
