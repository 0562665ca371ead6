"""Reads of the screens on a read replica, everything else on the primary
(docs/architecture.md, "A province of 50 million").

With FANGKONG_REPLICA_DATABASE_URL set, ``DATABASES['replica']`` is a streaming replica of the
primary (``default``). ``ReplicaMiddleware`` lets a request read from it only when all of these
hold: it is a GET/HEAD/OPTIONS, the client has not written within the last
FANGKONG_REPLICA_STICKY_SECONDS (a short cookie set by every unsafe request: a user sees their
own write on the next page although the replica lags), and the read is not inside a transaction
on the primary (what a write path reads to decide must be current). The ORM follows that through
``ReplicaRouter``; writes always go to the primary, so do jobs (``primary()``), the sessions, the
shared counters, API tokens and the drills' bookkeeping. Raw cursors (``django.db.connection``)
stay on the primary: they may write. Without a replica nothing changes: the router has no opinion.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
STICKY_COOKIE = "fk_primary"
# Always on the primary: read right after they are written by another request (a login's
# session, an API token just issued, the throttles' counters) or bookkeeping that must be current.
PRIMARY_APPS = frozenset({"sessions", "django_cache", "authtoken", "drills"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_reads_on_replica: ContextVar[bool] = ContextVar("fangkong_reads_on_replica", default=False)


def configured() -> bool:
    # connections.settings, not django.conf.settings: a test may add the alias at run time.
    return REPLICA in connections.settings


@contextmanager
def reads_on_replica(enabled: bool = True):
    """ORM reads in the block may go to the replica (when one is configured)."""
    token = _reads_on_replica.set(enabled)
    try:
        yield
    finally:
        _reads_on_replica.reset(token)


def primary():
    """Everything in the block on the primary, even inside a page request (jobs)."""
    return reads_on_replica(False)


def read_alias() -> str:
    """The alias an ORM read would use here, for the rare raw read that may follow it."""
    if (
        _reads_on_replica.get()
        and configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return REPLICA
    return DEFAULT_DB_ALIAS


class ReplicaRouter:
    """After the drills' router: a drill's sandbox has already been chosen when it applies."""

    def db_for_read(self, model, **hints):
        if model._meta.app_label in PRIMARY_APPS or not configured():
            return None
        return read_alias()

    def db_for_write(self, model, **hints):
        # An instance read from the replica would otherwise be saved back where it came from.
        return DEFAULT_DB_ALIAS if configured() else None

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, **hints):
        # The replica is a copy of the primary: it is migrated by replication, never directly.
        return False if db == REPLICA else None


class ReplicaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not configured():
            return self.get_response(request)
        safe = request.method in SAFE_METHODS
        on_replica = safe and STICKY_COOKIE not in request.COOKIES
        with reads_on_replica(on_replica):
            response = self.get_response(request)
        if not safe:
            # Read-your-writes: this client's next pages read the primary until the replica
            # has surely caught up.
            response.set_cookie(
                STICKY_COOKIE,
                "1",
                max_age=settings.REPLICA_STICKY_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
