from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.voluntary"
    label = "voluntary"
