"""The resumption part of the demo story, after the steps it builds on, on a small city."""

import io

import pytest
from django.core.management import call_command

from fangkong.command.models import Task
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.demo import demo_logins_ensure
from fangkong.resumption import demo, readiness
from fangkong.resumption.models import Application, Organisation, Worker


@pytest.fixture
def story(db):
    from fangkong.checkpoints.demo import checkpoints_demo
    from fangkong.command.demo import command_demo
    from fangkong.supplies.demo import supplies_demo

    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    demo_logins_ensure()
    for step in (checkpoints_demo, supplies_demo, command_demo):
        step(io.StringIO(), 7)
    out = io.StringIO()
    demo.resumption_demo(out, 7)
    return out.getvalue()


def test_story(story):
    assert story.startswith("复工复产:")
    statuses = sorted(Application.objects.values_list("status", flat=True))
    assert statuses == ["approved", "pending", "pending", "returned"]
    returned = Application.objects.get(status="returned")
    assert returned.reason and returned.organisation.kind == "school"
    assert (
        Organisation.objects.get(code="ENT-MASK")
        .officers.filter(username="enterprise_staff")
        .exists()
    )
    assert Worker.objects.count() == 20
    controlled = Worker.objects.filter(order__status="open")
    assert controlled.count() == 5 and all(w.risk_level for w in controlled)
    district = demo_nodes()[Level.DISTRICT]
    state = readiness.readiness(actor=None, node=district)
    assert state["gaps"], "the demo city has real gaps"
    assert Task.objects.filter(title=readiness.task_title(district, state["gaps"][0])).exists()
    again = io.StringIO()
    demo.resumption_demo(again, 7)
    assert "保持不变" in again.getvalue() and Worker.objects.count() == 20
