"""The demo stays alive at midnight (issue 16 point 4): started at 23:55 Shanghai time, the demo
still shows a full "today" at 00:10, because it runs on the demo clock (common.democlock)."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from fangkong.accounts.demo import DEMO_PASSWORD
from fangkong.common import democlock
from fangkong.common.models import DemoClock
from fangkong.control.models import HealthCheck
from fangkong.people.demo import demo_prepare

LOCAL = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=LOCAL)


def test_the_story_moment_is_a_daytime_moment_of_the_start_date():
    assert democlock.story_moment(at(2, 10, 30)) == at(2, 10, 30)
    assert democlock.story_moment(at(2, 23, 55)) == at(2, 15)
    assert democlock.story_moment(at(3, 0, 10)) == at(3, 15)
    assert democlock.story_moment(at(2, 7, 59)) == at(2, 15)


def test_the_demo_clock_never_leaves_the_story_day():
    story, started = at(2, 15), at(2, 23, 55)
    assert democlock.demo_now(at(3, 0, 10), story_at=story, started=started) == at(2, 15, 15)
    # Seven hours later it would pass 22:00: the day starts over from the story's moment.
    later = democlock.demo_now(
        started + dt.timedelta(hours=7, minutes=5), story_at=story, started=started
    )
    assert later == at(2, 15, 5)
    for hours in range(0, 24 * 3, 5):
        now = democlock.demo_now(
            started + dt.timedelta(hours=hours), story_at=story, started=started
        )
        assert now.astimezone(LOCAL).date() == dt.date(2026, 12, 2)


@pytest.fixture
def wall():
    clock = {"now": at(2, 23, 55)}
    yield clock
    democlock.uninstall()


def test_demo_started_at_2355_shows_a_full_today_at_0010(db, client, wall):
    democlock.install(wall=lambda: wall["now"])
    demo_prepare(stdout=io.StringIO(), population=3000, seed=5, migrate=False)
    assert DemoClock.objects.get().story_at == at(2, 15)
    wall["now"] = at(3, 0, 10)
    today = timezone.localdate()
    assert today == dt.date(2026, 12, 2)
    assert client.login(username="commander", password=DEMO_PASSWORD)
    page = client.get("/analytics/")
    assert page.status_code == 200
    figures = page.context["figures"]
    assert figures["tests_tubes_sampled"] > 0
    assert figures["tests_tubes_reported"] > 0
    assert figures["control_total"] > 0
    assert HealthCheck.objects.filter(day=today).count() > 0
    assert client.login(username="grid_worker", password=DEMO_PASSWORD)
    checks = client.get("/control/checks/")
    assert checks.status_code == 200
    assert "2026-12-02" in checks.content.decode() or "12月2日" in checks.content.decode()
    # Restarted the next day, the demo resumes on the story's day.
    democlock.uninstall()
    wall["now"] = at(4, 9)
    assert democlock.install(wall=lambda: wall["now"]) == at(2, 15)
    assert timezone.localdate() == dt.date(2026, 12, 2)
