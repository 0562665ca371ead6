"""Bulk imports at background CPU priority: the desks' requests first, the import gets the rest.

A city's import (a CSV parse in Python, then COPY and index upkeep in its PostgreSQL backend)
would otherwise take the CPU from the `serve` workers that answer the sampling desks. Under
`background()` every thread of this process runs at FANGKONG_IMPORT_NICE, and so does the
PostgreSQL backend of every connection the process opens meanwhile (the import's own, and e.g.
the registry prefetch's), when the database is on this host and the OS lets us renice it (root
or CAP_SYS_NICE; else one log line and the backend keeps its priority). Niceness only weighs
who runs when the CPU is contended: an import alone still gets the whole machine.

Linux keeps niceness per thread, so every thread of the process is set, and threads started
later inherit it. A backend made nicer is never handed back to other work: at the end of the
block it gets its niceness back or, where raising it is not allowed, its connection is closed. I/O priority (ionice) is not set: it only counts under the BFQ
scheduler, and the city servers' disks run mq-deadline or none.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created

log = logging.getLogger(__name__)

_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}
_state = threading.local()
_active: dict = {}  # while a background() block runs in this process: its nice and counts


def _threads() -> list[int]:
    try:
        return [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # not Linux: the calling thread only
        return [0]


def _set_threads(nice: int, *, only_lower: bool) -> None:
    for tid in _threads():
        try:
            if only_lower and os.getpriority(os.PRIO_PROCESS, tid) >= nice:
                continue
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except ProcessLookupError:  # the thread ended meanwhile
            continue


def backend_pid(connection) -> int | None:
    """The local PostgreSQL backend process of a Django connection, or None (another database,
    a remote server, or a process this host does not show as postgres)."""
    if connection.vendor != "postgresql":
        return None
    host = connection.settings_dict.get("HOST") or ""
    if host not in _LOCAL_HOSTS and not host.startswith("/"):
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        # The server may run in another PID namespace (a container) where the number means
        # another process: renice only what is a postgres process here.
        if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
            return None
    except OSError:
        return None
    return pid


def lower_backend(connection, nice: int) -> tuple[int, int] | None:
    """Renice the connection's backend to at least `nice`: its pid and former niceness, or None
    (and a log line) when it cannot."""
    alias = connection.alias
    try:
        pid = backend_pid(connection)
    except Exception as exc:  # a broken connection: the import will say so itself
        log.info("import priority: no backend pid for %s (%s)", alias, exc)
        return None
    if pid is None:
        log.info(
            "import priority: database %s is not a local PostgreSQL; its backend keeps its priority",
            alias,
        )
        return None
    try:
        before = os.getpriority(os.PRIO_PROCESS, pid)
        if before < nice:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError as exc:  # EPERM: another user's process without CAP_SYS_NICE
        log.info("import priority: backend %s of %s keeps its priority (%s)", pid, alias, exc)
        return None
    return pid, before


def _lower(connection) -> None:
    _active["backends"] += 1
    done = lower_backend(connection, _active["nice"])
    if done is not None:
        _active["reniced"] += 1
        _reniced()[connection] = done  # a reopened connection: its new backend


def _on_connection(sender, connection, **kwargs) -> None:
    if _active.get("nice"):
        _lower(connection)


def _reniced() -> dict:
    if not hasattr(_state, "connections"):
        _state.connections = {}
    return _state.connections


def _restore(connection, pid: int, before: int) -> None:
    """A reniced backend back to its niceness, or closed (when that is not allowed), so that no
    other work of this process runs on it."""
    if connection.connection is None:  # closed meanwhile: the backend is gone
        return
    try:
        os.setpriority(os.PRIO_PROCESS, pid, before)
        return
    except ProcessLookupError:
        return
    except OSError:
        pass
    if not connection.in_atomic_block:
        connection.close()
    else:
        log.info("import priority: backend %s stays at lower priority", pid)


@contextlib.contextmanager
def background(nice: int | None = None):
    """Run the block at background priority (FANGKONG_IMPORT_NICE unless `nice` is given; 0: as
        is). Yields a dict that ends up with the niceness and how many database backends were opened
        and reniced. The calling thread's backends are given their niceness back at the end, or closed
    when that is not allowed."""
    nice = settings.FANGKONG_IMPORT_NICE if nice is None else nice
    report = {"nice": 0, "backends": 0, "reniced": 0}
    if nice <= 0 or "nice" in _active:
        yield report
        return
    before = os.getpriority(os.PRIO_PROCESS, 0)
    _set_threads(nice, only_lower=True)
    _active.update(nice=nice, backends=0, reniced=0)
    connection_created.connect(_on_connection, dispatch_uid="fangkong-import-priority")
    try:
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                _lower(connection)
        log.info("import priority: nice %s (was %s)", nice, before)
        yield report
    finally:
        connection_created.disconnect(dispatch_uid="fangkong-import-priority")
        report.update(_active)
        _active.clear()
        for connection, (pid, was) in _reniced().items():
            _restore(connection, pid, was)
        _reniced().clear()
        try:
            _set_threads(before, only_lower=False)
        except PermissionError:  # raising priority back needs CAP_SYS_NICE: it stays lower
            log.info("import priority: the process stays at nice %s", nice)
