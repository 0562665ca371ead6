from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.screening"
    label = "screening"
