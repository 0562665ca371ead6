from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.vaccination"
    label = "vaccination"
