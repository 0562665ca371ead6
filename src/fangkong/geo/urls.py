from django.urls import path

from . import views

app_name = "geo"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("autocomplete/", views.autocomplete, name="autocomplete"),
    path("<str:code>/", views.node, name="node"),
    path("<str:code>/children/", views.children, name="children"),
]
