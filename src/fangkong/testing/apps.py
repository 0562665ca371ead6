from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.testing"
    label = "testing"
