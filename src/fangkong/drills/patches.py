"""The three process-wide hooks that make ``routing.current()`` reach code written for one
database: ``django.db.connection`` (raw cursors), ``transaction.atomic()`` without ``using``
(and ``on_commit``), and ``django.core.cache.cache`` (figures cached per node path must not mix
the sandbox's with the live ones). Each falls back to Django's own behaviour outside a drill.
Installed once from the app's ``ready()``."""

from __future__ import annotations

import django.core.cache as cache_module
import django.db as db_module
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils.connection import ConnectionProxy

from . import routing

SANDBOX_CACHE = "drills_sandbox"
_installed = False


class _RoutedConnectionProxy(ConnectionProxy):
    @property
    def _alias(self):
        return routing.current() or self.__dict__["_alias"]


class _RoutedCacheProxy(ConnectionProxy):
    @property
    def _alias(self):
        return SANDBOX_CACHE if routing.current() else self.__dict__["_alias"]


def _get_connection(using=None):
    if using is None:
        using = routing.current() or DEFAULT_DB_ALIAS
    return connections[using]


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    # object.__setattr__: the proxy's own __setattr__ would set it on the wrapped connection.
    object.__setattr__(db_module.connection, "__class__", _RoutedConnectionProxy)
    transaction.get_connection = _get_connection
    # Figures of a sandbox are cached in this process only, under their own cache.
    caches.settings.setdefault(
        SANDBOX_CACHE,
        {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": SANDBOX_CACHE,
        },
    )
    object.__setattr__(cache_module.cache, "__class__", _RoutedCacheProxy)
    _route_jobs()


class _InProcessQueue:
    """What a drill's background job is given instead of the Redis queue: it runs at once, in
    the request, on the sandbox (a worker process would read the live database)."""

    def enqueue(self, func, kwargs=None, **_options):
        from fangkong.common import jobs

        return jobs.run(func, kwargs or {})


def _route_jobs() -> None:
    from fangkong.common import jobs

    original = jobs._queue

    def queue(conn=None):
        if routing.current():
            return _InProcessQueue()
        return original(conn)

    jobs._queue = queue
