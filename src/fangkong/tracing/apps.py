from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.tracing"
    label = "tracing"
