from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.command"
    label = "command"
