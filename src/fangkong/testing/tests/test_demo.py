"""The mass-testing part of the demo story, on a small synthetic city."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from fangkong.common.models import ImportJob
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.demo import demo_logins_ensure
from fangkong.people.models import Person
from fangkong.testing import bulk, demo
from fangkong.testing.models import (
    Lab,
    PositiveFinding,
    Recheck,
    Round,
    Sample,
    Site,
    TemporaryControl,
    Tube,
)


def counts() -> dict[str, int]:
    models = [Round, Site, Lab, Tube, Sample, Recheck, PositiveFinding, TemporaryControl, ImportJob]
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def story(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    demo_logins_ensure()
    out = io.StringIO()
    demo.testing_demo(out, 7)
    return out.getvalue()


def test_round_1_is_done_with_positives(story):
    assert story.startswith("核酸检测: 2 轮")
    assert set(Round.objects.values_list("code", flat=True)) == {"R2022-01", "R2022-02"}
    r1 = Round.objects.get(code="R2022-01")
    assert r1.status == Round.Status.CLOSED
    assert Lab.objects.filter(name="金域医学检验所").exists()
    assert Lab.objects.filter(name="市疾控中心实验室").exists()
    assert Site.objects.filter(name="玄武区红旗路社区采样点").exists()
    tubes = Tube.objects.filter(round=r1)
    assert tubes.count() > 250
    assert not tubes.filter(reported_at__isnull=True).exists()
    assert tubes.filter(kind=Tube.Kind.POOL, result="positive").count() == 6
    assert tubes.filter(kind=Tube.Kind.POOL, result="invalid").count() == 1
    assert PositiveFinding.objects.filter(round=r1).count() == 4
    assert not Recheck.objects.filter(round=r1).exclude(status=Recheck.Status.RESULTED).exists()
    sampled = Sample.objects.filter(round=r1).values("person").distinct().count()
    assert 0.95 < sampled / Person.objects.count() < 0.99
    district = demo_nodes()[Level.DISTRICT]
    assert (
        not PositiveFinding.objects.filter(round=r1)
        .exclude(jpath__startswith=district.path)
        .exists()
    )


def test_round_2_is_under_way(story):
    r2 = Round.objects.get(code="R2022-02")
    assert r2.status == Round.Status.OPEN
    counts_ = bulk.counts_by_status(r2)
    assert 0.5 < 1 - counts_["not_tested"] / Person.objects.count() < 0.7
    tubes = Tube.objects.filter(round=r2)
    reported = tubes.filter(reported_at__isnull=False).count()
    assert 0.65 < reported / tubes.count() < 0.75
    assert tubes.filter(result="positive").count() == 2
    assert Recheck.objects.filter(round=r2, status=Recheck.Status.PENDING).count() > 0
    warning, _breach = r2.thresholds
    overdue = tubes.filter(
        reported_at__isnull=True, sampled_at__lte=timezone.now() - dt.timedelta(hours=warning)
    )
    assert overdue.exists()


def test_the_grid_worker_has_work(story):
    r2 = Round.objects.get(code="R2022-02")
    grid = demo_nodes()[Level.GRID]
    in_grid = bulk.counts_by_status(r2, within=grid.path)
    assert in_grid["not_tested"] > 0
    assert in_grid["recheck_required"] > 0
    assert TemporaryControl.objects.filter(round=r2, jpath__startswith=grid.path).exists()


def test_running_again_creates_nothing(story):
    before = counts()
    out = io.StringIO()
    demo.testing_demo(out, 7)
    assert "已存在" in out.getvalue()
    assert counts() == before
