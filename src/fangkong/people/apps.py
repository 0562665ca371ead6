from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.people"
    label = "people"
