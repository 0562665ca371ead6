from django.apps import AppConfig
from django.db.models.signals import post_migrate


class Config(AppConfig):
    name = "fangkong.accounts"
    label = "accounts"

    def ready(self):
        from . import signals

        post_migrate.connect(signals.create_cache_table, sender=self)
