from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.resumption"
    label = "resumption"
