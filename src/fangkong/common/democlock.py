"""The demo's clock: the demo city lives in one day, so "today" is never empty (issue 16 point 4).

Every module's demo step builds its part of the story relative to ``timezone.now()`` /
``timezone.localdate()``; every page reads "today" the same way. Started at 23:51 with the real
clock, nine minutes later the story was "yesterday" and every "today" figure was empty. So
``fangkong demo`` runs on a demo clock, one mechanism in this one place:

* The story's moment is chosen once, when the story is first built, and kept in the database
  (``common.DemoClock``): the real time if it lies between ``DAY_START`` and ``DAY_END``
  (Asia/Shanghai), otherwise ``STORY_TIME`` of the same date (so a start at 23:55 builds a
  story whose "now" is 15:00 that day, with a full morning and afternoon behind it).
* While the demo serves, ``django.utils.timezone.now`` returns the story's moment plus the real
  time elapsed since the start; when that would pass ``DAY_END`` the clock starts the day again
  from the story's moment. Every "today" — pages, API, selectors, services stamping what a
  demo user does — is the story's day, however long the demo runs and whenever it restarts.

How a demo step must be written to follow it: read time only through ``timezone.now()`` and
``timezone.localdate()`` at call time (never ``datetime.now()``/``date.today()``, never a
default bound at import, never SQL ``CURRENT_DATE``/``NOW()``), place the story's events at or
before now (the earlier days of the outbreak behind it), and stay idempotent (the steps run on
every start, on the same story day). Nothing else: the clock is installed before the steps run.
Tests pass the real clock explicitly (``install(wall=...)``) instead of freezing time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.utils import timezone as dj_timezone

LOCAL = ZoneInfo("Asia/Shanghai")
DAY_START = dt.time(8, 0)
DAY_END = dt.time(22, 0)
STORY_TIME = dt.time(15, 0)

_real_now = dj_timezone.now
_installed: dict = {}


def real_now() -> dt.datetime:
    return _real_now()


def story_moment(wall: dt.datetime) -> dt.datetime:
    """The story's "now" for a demo first built at the real time ``wall``."""
    local = wall.astimezone(LOCAL)
    if DAY_START <= local.time() < DAY_END:
        return local.replace(microsecond=0)
    return dt.datetime.combine(local.date(), STORY_TIME, tzinfo=LOCAL)


def demo_now(wall: dt.datetime, *, story_at: dt.datetime, started: dt.datetime) -> dt.datetime:
    """The demo clock at the real time ``wall``: the story's moment plus the time elapsed since
    the start, starting the day over from the story's moment when it would pass DAY_END."""
    story_local = story_at.astimezone(LOCAL)
    end = dt.datetime.combine(story_local.date(), DAY_END, tzinfo=LOCAL)
    span = max((end - story_local).total_seconds(), 3600.0)
    elapsed = max((wall - started).total_seconds(), 0.0) % span
    return (story_at + dt.timedelta(seconds=elapsed)).astimezone(dt.UTC)


def install(*, wall: Callable[[], dt.datetime] | None = None) -> dt.datetime:
    """Run this process on the demo clock; returns the story's moment. ``wall`` is the real
    clock (tests pass their own). The story's moment is read from, or first written to, the
    database."""
    from .models import DemoClock

    wall = wall or _real_now
    started = wall()
    row = DemoClock.objects.first()
    if row is None:
        row = DemoClock.objects.create(story_at=story_moment(started))
    story_at = row.story_at

    def now() -> dt.datetime:
        return demo_now(wall(), story_at=story_at, started=started)

    _installed.update(now=now, story_at=story_at)
    # localtime()/localdate() look `now` up in the module at call time, so they follow too.
    dj_timezone.now = now
    return story_at


def uninstall() -> None:
    dj_timezone.now = _real_now
    _installed.clear()


def installed() -> bool:
    return bool(_installed)
