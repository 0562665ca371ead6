"""The command part of the demo story, on a small synthetic city."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from fangkong.command import demo
from fangkong.command.models import Finding, Proposal, ResponseLevel, RiskArea, Task, Unit
from fangkong.common.models import Alert
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.demo import demo_logins_ensure


@pytest.fixture
def story(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    demo_logins_ensure()
    out = io.StringIO()
    demo.command_demo(out, 7)
    return out.getvalue()


def test_story(story):
    assert story.startswith("指挥调度:")
    district = demo_nodes()[Level.DISTRICT]
    assert district.name == "玄武区"
    assert Unit.objects.filter(kind="working_group").count() == 7
    assert Task.objects.filter(state="open").count() == 4
    [late] = Task.objects.filter(escalation_level=1)
    assert late.deadline < timezone.now()
    assert Alert.objects.filter(kind="command.task_overdue", object_id=str(late.pk)).count() == 1
    finding = Finding.objects.get()
    assert (finding.state, finding.description) == ("open", "夜间卡口无人值守，未查验行程码")
    current = ResponseLevel.objects.first()
    assert current.level == 2
    assert (timezone.localdate() - timezone.localdate(current.declared_at)).days == 20
    area = RiskArea.objects.get()
    assert (area.level, area.jpath.startswith(district.path)) == ("high", True)
    proposal = Proposal.objects.get(area=area)
    assert (proposal.state, proposal.to_level, proposal.clean_days) == ("pending", "medium", 8)
    assert area.since == timezone.localdate() - dt.timedelta(days=12)


def test_running_again_creates_nothing(story):
    before = (Task.objects.count(), Unit.objects.count(), Proposal.objects.count())
    out = io.StringIO()
    demo.command_demo(out, 7)
    assert "已存在" in out.getvalue()
    assert (Task.objects.count(), Unit.objects.count(), Proposal.objects.count()) == before
