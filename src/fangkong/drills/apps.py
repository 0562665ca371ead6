from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "fangkong.drills"
    label = "drills"
    verbose_name = _("Drills")

    def ready(self):
        from . import patches

        patches.install()
