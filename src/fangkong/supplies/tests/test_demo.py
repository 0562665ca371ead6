"""The supplies part of the demo story, on a small synthetic city."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from fangkong.common.models import Alert
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.demo import demo_logins_ensure
from fangkong.supplies import demo, services
from fangkong.supplies.models import Movement, OutputReport, SupplyRequest, Warehouse
from fangkong.supplies.selectors import cover_table


@pytest.fixture
def story(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    demo_logins_ensure()
    out = io.StringIO()
    demo.supplies_demo(out, 7)
    return out.getvalue()


def test_story(story):
    assert story.startswith("物资保障:")
    district = demo_nodes()[Level.DISTRICT]
    assert district.name == "玄武区"
    assert Warehouse.objects.filter(kind="reserve").count() == 1
    assert (
        OutputReport.objects.filter(enterprise__code="ENT-MASK", item__code="MASK-SURG").count()
        == 7
    )
    assert SupplyRequest.objects.filter(status__in=["open", "partial"]).count() == 3
    assert services.balances_verify() == []
    table = cover_table(actor=None, node=district, today=timezone.localdate())
    suits = next(r for r in table["total"] if r["item_code"] == "SUIT")
    assert suits["days_of_cover"] < 3
    assert not [r for r in table["total"] if r["short"] and r["item_code"] != "SUIT"]
    alert = Alert.objects.get(kind="supply_shortage", jurisdiction_path=district.path)
    assert alert.title.startswith("医用防护服 short in 玄武区")


def test_running_again_creates_nothing(story):
    before = Movement.objects.count()
    out = io.StringIO()
    demo.supplies_demo(out, 7)
    assert "已存在" in out.getvalue()
    assert Movement.objects.count() == before
