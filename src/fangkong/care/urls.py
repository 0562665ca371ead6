"""Page routes of the care module."""

from django.urls import path

from . import views

app_name = "care"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("admit/", views.admit, name="admit"),
    path("facilities/<int:pk>/", views.board, name="board"),
    path("admissions/<int:pk>/", views.admission, name="admission"),
]
