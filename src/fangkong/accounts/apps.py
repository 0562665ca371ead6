from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.accounts"
    label = "accounts"

    def ready(self):
        from . import signals  # noqa: F401
