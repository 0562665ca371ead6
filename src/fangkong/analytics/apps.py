from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.analytics"
    label = "analytics"
