from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.supplies"
    label = "supplies"
