from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.care"
    label = "care"
