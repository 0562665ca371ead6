"""The last demo step on a small synthetic city: outlines, three-level daily reports, bulletins."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from fangkong.analytics import demo
from fangkong.command.models import Bulletin, DailyReport
from fangkong.geo.models import Jurisdiction
from fangkong.people.demo import demo_logins_ensure


@pytest.fixture
def story(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    demo_logins_ensure()
    out = io.StringIO()
    demo.analytics_demo(out, 7)
    return out.getvalue()


def test_story(story, client):
    assert story.startswith("研判与日报:")
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    assert not Jurisdiction.objects.filter(
        level__in=["city", "district", "street"], outline=None
    ).exists()
    levels = set(DailyReport.objects.values_list("level", flat=True))
    assert levels == {"city", "district", "street"}
    days = sorted(set(DailyReport.objects.values_list("day", flat=True)))
    assert days == [today - dt.timedelta(days=n) for n in (4, 3, 2, 1)]
    older = DailyReport.objects.filter(day__lt=yesterday)
    assert older.exclude(state="signed").count() == 0
    assert DailyReport.objects.filter(late=True).count() == 1
    [late] = DailyReport.objects.filter(late=True)
    assert (late.level, late.day) == ("street", today - dt.timedelta(days=2))
    pending = DailyReport.objects.filter(day=yesterday, state="draft")
    assert set(pending.values_list("level", flat=True)) == {"city", "district", "street"}
    assert pending.filter(level="street").count() == 1
    assert DailyReport.objects.filter(day=yesterday, level="street", state="signed").exists()
    city = DailyReport.objects.get(day=today - dt.timedelta(days=3), level="city")
    assert city.rollup["entry_volunteers"] > 0 and city.signed_by.username == "commander"
    street = DailyReport.objects.filter(level="street", state="signed").first()
    assert street.signed_by is None and street.signer.endswith(
        ("值班长", "值班员", "副主任", "常务副指挥")
    )
    from fangkong.accounts.demo import DEMO_ACCOUNTS
    from fangkong.accounts.models import User

    assert User.objects.count() == len(DEMO_ACCOUNTS)
    states = list(Bulletin.objects.order_by("day").values_list("state", flat=True))
    assert states == ["published"] * 6 + ["draft"]
    assert Bulletin.objects.get(day=yesterday).state == "draft"
    client.login(username="commander", password="fangkong2022")
    assert client.get("/analytics/").status_code == 200
    assert client.get("/command/bulletins/").status_code == 200


def test_running_again_creates_nothing(story):
    before = (DailyReport.objects.count(), Bulletin.objects.count())
    out = io.StringIO()
    demo.analytics_demo(out, 7)
    assert "已存在" in out.getvalue()
    assert (DailyReport.objects.count(), Bulletin.objects.count()) == before
