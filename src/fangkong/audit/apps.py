from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.audit"
    label = "audit"
