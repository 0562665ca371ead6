"""Page routes of supplies."""

from django.urls import path

from . import views

app_name = "supplies"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("warehouses/", views.warehouses, name="warehouses"),
    path("warehouses/<str:code>/", views.warehouse_detail, name="warehouse"),
    path("warehouses/<str:code>/move/", views.movement_entry, name="move"),
    path("enterprises/", views.enterprises, name="enterprises"),
    path("requests/", views.requests, name="requests"),
    path("requests/<int:pk>/allocate/", views.allocate, name="allocate"),
]
