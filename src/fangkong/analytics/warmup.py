"""The HQ dashboard's warm-up step for a starting `serve` (declared in registry.py, run by
common.warmup): the page rendered once in every language, for an unsaved commander of the
smallest node with the figure cache off, so the figure providers, numpy, the Rt estimate, the
map and the templates have all run before the first real request. Writes nothing."""

from __future__ import annotations


def dashboard() -> None:
    from django.conf import settings
    from django.test import RequestFactory, override_settings
    from django.utils import translation

    from fangkong.accounts.models import User
    from fangkong.geo.models import Jurisdiction

    from . import views

    node = Jurisdiction.objects.order_by("-depth", "path").first()
    if node is None:
        return
    actor = User(username="warm-up", role="commander", jurisdiction=node, is_active=True)
    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h), "localhost")
    request = RequestFactory().get("/analytics/", HTTP_HOST=host.lstrip("."), secure=True)
    request.user = actor
    with override_settings(FANGKONG_DASHBOARD_CACHE_SECONDS=0):
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                request.LANGUAGE_CODE = code
                views.dashboard(request)
