"""The control part of the demo story on a small synthetic city."""

import io

import pytest
from django.core.management import call_command

from fangkong.common.models import Alert
from fangkong.control import demo
from fangkong.control.models import ControlOrder, Measure, Room, Site


@pytest.fixture
def city(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())


def test_demo_puts_contacts_under_control_and_fills_rooms(city):
    out = io.StringIO()
    demo.control_demo(out, 2022)
    assert Site.objects.count() == 2
    assert Room.objects.count() == 300 + 120
    orders = ControlOrder.objects.filter(status=ControlOrder.Status.OPEN)
    assert orders.filter(category="close_contact").count() == 120
    assert orders.filter(category="risk_area").count() == 40
    centralized = orders.filter(measure=Measure.CENTRALIZED)
    assert centralized.count() > 50
    assert centralized.filter(room__isnull=False).count() == centralized.count()
    assert Room.objects.filter(state=Room.State.OCCUPIED).count() == centralized.count()
    assert Alert.objects.filter(title__contains="38.1").exists()
    assert "隔离管控" in out.getvalue()

    counts = (ControlOrder.objects.count(), Room.objects.count(), Alert.objects.count())
    demo.control_demo(io.StringIO(), 2022)
    assert (ControlOrder.objects.count(), Room.objects.count(), Alert.objects.count()) == counts
