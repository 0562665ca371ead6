from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Config(AppConfig):
    name = "fangkong.common"
    label = "common"

    def ready(self):
        from django.core import checks

        from . import events, registry

        # common's own page; every other app declares its entries in its registry.py.
        registry.nav(280, "common:alerts", _("Alert centre"))
        registry.autodiscover()
        checks.register(events.check_subscriptions)
        from .params import bound_integer_fields

        bound_integer_fields()
        from .fields import install

        install()
