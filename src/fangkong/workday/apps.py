from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.workday"
    label = "workday"
