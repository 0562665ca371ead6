"""Which database a drill participant's request reads and writes: a context variable, read by
the database router, by ``django.db.connection`` and by ``transaction.atomic()`` alike.

While ``active(alias)`` holds (the drill middleware sets it for a participant's request, the
sandbox's migrate and seeding set it too), every ORM query of every app, every raw cursor taken
from ``django.db.connection`` and every ``transaction.atomic()`` without ``using`` go to the
drill's sandbox. The drills app's own bookkeeping, the sessions and the database cache always
stay on the live database. Nothing in the other apps knows about drills.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import DEFAULT_DB_ALIAS

PREFIX = "drill_"
# Always on the live database: the drill's bookkeeping, the logins' sessions, the shared counters.
LIVE_APPS = frozenset({"drills", "sessions", "django_cache"})

_alias: ContextVar[str | None] = ContextVar("drill_alias", default=None)


def current() -> str | None:
    """The sandbox alias of this request or block, None on the live database."""
    return _alias.get()


def is_sandbox(alias: str | None) -> bool:
    return bool(alias) and alias.startswith(PREFIX)


@contextmanager
def active(alias: str | None):
    """Route everything in the block to ``alias`` (None: the live database); a sandbox's
    connection is opened in this thread if it is not yet."""
    if is_sandbox(alias):
        from . import sandbox

        sandbox.connect(alias)
    token = _alias.set(alias)
    try:
        yield alias
    finally:
        _alias.reset(token)


def live():
    """The block works on the live database, even inside a drill request (the bookkeeping)."""
    return active(None)


def alias_or_default() -> str:
    return current() or DEFAULT_DB_ALIAS


class DrillRouter:
    """Sends every model outside LIVE_APPS to the active sandbox; no opinion otherwise."""

    def db_for_read(self, model, **hints):
        alias = current()
        if alias and model._meta.app_label not in LIVE_APPS:
            return alias
        return None

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        # A participant's account is loaded from the live database (the login) and copied into
        # the sandbox with the same key; the rows written there may refer to it.
        if current() and {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, current(), None}:
            return True
        return None

    def allow_migrate(self, db, app_label, **hints):
        if is_sandbox(db):
            return app_label not in LIVE_APPS
        return None
