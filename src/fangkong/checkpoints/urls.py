"""Page routes of the checkpoints module."""

from django.urls import path

from . import views

app_name = "checkpoints"
urlpatterns = [
    path("", views.register, name="register"),
    path("grids/", views.grids, name="grids"),
    path("transfers/", views.transfers, name="transfers"),
    path("transfers/new/", views.transfer_create, name="transfer_create"),
    path("transfers/<int:pk>/advance/", views.transfer_advance, name="transfer_advance"),
    path("passengers/<int:pk>/check-in/", views.passenger_check_in, name="check_in"),
]
