from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.common"
    label = "common"

    def ready(self):
        from .fields import install

        install()
