"""The friendly error pages in every setting, and one guard for the pages the menu lists.

Menu and guard: a module page declared with ``registry.nav(..., allowed=...)`` is refused (403)
to a user for whom ``allowed`` does not hold, so the menu a role sees and the pages it may open
are the same predicate and cannot disagree.

Error pages: with DEBUG off Django renders ``404.html``/``403.html``/``500.html`` itself. The demo
runs with DEBUG on, where Django would show its technical pages (the URL resolver's pattern list,
an English traceback); people using the demo see the same friendly pages as in production. The
traceback still goes to the log.
"""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from fangkong.common import registry

log = logging.getLogger(__name__)


def _entries() -> dict:
    return {e.url_name: e for e in registry.nav_entries()}


def nav_allowed(user, url_name: str) -> bool:
    """May this user open the module page ``url_name``? (True for pages the menu does not list.)"""
    entry = _entries().get(url_name)
    if entry is None or entry.allowed is None:
        return True
    return bool(entry.allowed(user))


def friendly(request, status: int):
    template = {403: "403.html", 404: "404.html"}.get(status, "500.html")
    response = render(request, template, {"request_path": request.path}, status=status)
    response.friendly = True
    return response


class WorkdayMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Django's technical 404 (DEBUG, no URL matched) lists the URL patterns: never shown.
        if (
            settings.DEBUG
            and response.status_code == 404
            and not request.path.startswith("/api/")
            and not getattr(response, "friendly", False)
            and b"Django tried these URL patterns" in getattr(response, "content", b"")
        ):
            return friendly(request, 404)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        user = getattr(request, "user", None)
        if match is None or user is None or not user.is_authenticated:
            return None
        if not nav_allowed(user, match.view_name):
            raise PermissionDenied
        return None

    def process_exception(self, request, exception):
        from fangkong.common.errors import DomainError

        if not settings.DEBUG or request.path.startswith("/api/"):
            return None
        if isinstance(exception, DomainError):
            return None  # the DomainErrorMiddleware shows its message
        if isinstance(exception, Http404):
            return friendly(request, 404)
        if isinstance(exception, PermissionDenied):
            return friendly(request, 403)
        log.error("Unhandled exception on %s", request.path, exc_info=exception)
        return friendly(request, 500)
