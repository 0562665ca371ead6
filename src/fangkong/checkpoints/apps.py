from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.checkpoints"
    label = "checkpoints"
