"""Page routes of the checkpoints module."""

from django.urls import path  # noqa: F401

app_name = "checkpoints"
urlpatterns: list = []
