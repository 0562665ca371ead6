from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.places"
    label = "places"
