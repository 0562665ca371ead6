from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.geo"
    label = "geo"
