from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.control"
    label = "control"
