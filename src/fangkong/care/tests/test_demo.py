"""The care and checkpoints parts of the demo story on a small synthetic city."""

import io

import pytest
from django.core.management import call_command

from fangkong.care import demo
from fangkong.care.models import Admission, Bed, Facility
from fangkong.checkpoints import demo as checkpoints_demo
from fangkong.checkpoints.models import Arrival, Transfer
from fangkong.common.models import Alert
from fangkong.control import demo as control_demo
from fangkong.control.models import ControlOrder
from fangkong.tracing.models import Case


@pytest.fixture
def city(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    control_demo.control_demo(io.StringIO(), 2022)


def test_demo_fills_beds_and_gates(city):
    out = io.StringIO()
    demo.care_demo(out, 2022)
    assert Facility.objects.count() == 3
    assert Bed.objects.count() == 20 + 180 + 12 + 120 + 600
    assert Case.objects.count() == 14  # no tracing step here: the demo's own handful
    admitted = Admission.objects.filter(status="admitted")
    assert admitted.count() + Admission.objects.filter(status="discharged").count() == 14
    assert admitted.filter(bed__bed_type="icu").count() == 1  # the one who worsened
    assert Admission.objects.filter(status="discharged").count() >= 1
    assert ControlOrder.objects.filter(category="released", status="open").exists()
    assert Bed.objects.filter(state="occupied").count() == admitted.count()
    assert "医疗救治" in out.getvalue()
    checkpoints_demo.checkpoints_demo(out, 2022)
    assert Arrival.objects.count() == 36
    assert set(Arrival.objects.values_list("disposition", flat=True)) == {
        "release",
        "test",
        # ed. 9 isolates risk-area arrivals at home: no "home_monitoring" from the gates
        "home_isolation",
        "centralized",
    }
    assert set(Transfer.objects.values_list("state", flat=True)) == {
        "planned",
        "dispatched",
        "picked_up",
        "arrived",
        "done",
    }
    assert Alert.objects.filter(kind="transfer_lost").count() == 1
    counts = (Admission.objects.count(), Arrival.objects.count(), Alert.objects.count())
    demo.care_demo(io.StringIO(), 2022)
    checkpoints_demo.checkpoints_demo(io.StringIO(), 2022)
    assert (Admission.objects.count(), Arrival.objects.count(), Alert.objects.count()) == counts
