"""The engine's shared pieces: SQL helpers, local times, the file columns."""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

from django.db import connection

from ..engine import TIMINGS

log = logging.getLogger(__name__)
LOCAL = ZoneInfo("Asia/Shanghai")
SAMPLE_COLUMNS = ["tube_barcode", "id_number", "sampled_at", "site_code"]
RESULT_COLUMNS = ["tube_barcode", "result", "reported_at", "lab_code"]
RESULTS = ("negative", "positive", "invalid")


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _run(sql: str, params=()) -> int:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        n = cursor.rowcount
    key = " ".join(sql.split()[:4])[:48]
    TIMINGS[key] = TIMINGS.get(key, 0.0) + time.perf_counter() - started
    return n


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _drop(*names: str) -> None:
    for name in names:
        _run(f"DROP TABLE IF EXISTS {name}")


def _analyze(*names: str) -> None:
    # Autovacuum never analyses temporary tables; without statistics the planner picks nested loops.
    if _pg():
        for name in names:
            _run(f"ANALYZE {name}")


def parse_local(value: str) -> dt.datetime | None:
    """'YYYY-MM-DD HH:MM:SS' in Asia/Shanghai as an aware datetime; None when malformed."""
    try:
        naive = dt.datetime.strptime(value.strip().replace("T", " "), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=LOCAL)


def _db_datetime(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value) if not _pg() else value
