"""Warm what a freshly started `serve` would otherwise build on its first requests.

A restarted server's first HQ dashboard took 919 ms against ~200 ms warm: the first request paid
for importing the analytics, numpy and figure-provider modules, populating the URL resolver,
compiling the templates, loading the translation catalogs and the static manifest, and opening
the database connection. `serve` runs `warm()` once in the gunicorn master before it binds its
port (the workers fork from the warmed master, so each starts with all of it), and `connect()`
in each worker before it accepts a request (its own connection, and the PostgreSQL backend's
catalog caches warmed by one more rendering).

Nothing here may keep the server from starting: a step that fails (an empty or unmigrated
database, a node without children) is logged and skipped. Nothing is written: the dashboard is
rendered (by analytics' declared step) for an unsaved user, with the figure cache off, on the
smallest node.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def _step(name: str, fn, timings: dict) -> None:
    started = time.perf_counter()
    try:
        fn()
    except Exception as exc:  # a cold start is better than no start
        log.warning("warm-up step %s skipped: %s", name, exc)
    timings[name] = round((time.perf_counter() - started) * 1000)


def _urls() -> None:
    from django.urls import get_resolver

    resolver = get_resolver()
    resolver.reverse_dict  # noqa: B018 - populating the resolver imports every urls module
    resolver.resolve("/")


def _translations() -> None:
    from django.conf import settings
    from django.utils import translation

    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("HQ dashboard")


def template_names() -> list[str]:
    """Every template the Django engine can find (project folder and each app's templates/)."""
    from django.template import engines

    names: set[str] = set()
    for engine in engines.all():
        dirs = list(engine.template_dirs)
        for folder in dirs:
            root = Path(folder)
            if root.is_dir():
                names.update(
                    str(p.relative_to(root))
                    for p in root.rglob("*")
                    if p.suffix in {".html", ".txt", ".svg"}
                )
    return sorted(names)


def _templates() -> None:
    from django.template.loader import get_template

    # Production's loader keeps each compiled template for the life of the process.
    for name in template_names():
        try:
            get_template(name)
        except Exception as exc:  # a fragment that only compiles in context is no reason to stop
            log.debug("template %s not precompiled: %s", name, exc)


def _figures() -> None:
    from . import registry

    for dotted in registry.figure_providers():
        registry.load(dotted)


def _login() -> None:
    """The login page through the whole middleware chain (sessions, CSRF, CSP, static manifest)."""
    from django.conf import settings
    from django.test import Client

    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h), "localhost")
    Client(HTTP_HOST=host.lstrip(".")).get("/login/", secure=True)


def _apps() -> None:
    """What each app declared (common.registry.warmup): e.g. analytics renders the dashboard."""
    from . import registry

    for dotted in registry.warmup_steps():
        registry.load(dotted)()


def warm() -> dict[str, int]:
    """Run every step (in the process that will fork the workers, which closes its database
    connections after); milliseconds per step."""
    timings: dict[str, int] = {}
    _step("urls", _urls, timings)
    _step("translations", _translations, timings)
    _step("templates", _templates, timings)
    _step("figures", _figures, timings)
    _step("login", _login, timings)
    _step("apps", _apps, timings)
    return timings


def connect() -> dict[str, int]:
    """In each worker before its first request: open its database connection and render the
    dashboard once more over it, so the new PostgreSQL backend has the catalog entries of every
    table the screens read (a fresh backend looks each one up on first use)."""
    from django.db import connection

    timings: dict[str, int] = {}
    _step("connect", connection.ensure_connection, timings)
    _step("apps", _apps, timings)
    return timings
