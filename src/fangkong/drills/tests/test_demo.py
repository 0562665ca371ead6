"""The drills part of the demo: one finished drill with its score card, idempotent, on a small
synthetic city with the demo logins."""

import io
import time

import pytest
from django.core.management import call_command
from django.utils.translation import gettext

from fangkong.drills import demo, routing, sandbox
from fangkong.drills.models import Drill
from fangkong.people.demo import demo_logins_ensure
from fangkong.tracing.models import Case

pytestmark = pytest.mark.django_db


def test_demo_leaves_one_finished_drill_with_its_score_card(drills_env):
    call_command("synth", population=2000, seed=7, stdout=io.StringIO())
    demo_logins_ensure()
    # The migrated template is made once per set of migrations (the first drill of a machine).
    sandbox.drop(sandbox.create(sandbox.new_name()))
    began = time.perf_counter()
    out = io.StringIO()
    demo.drills_demo(out, 7)
    seconds = time.perf_counter() - began
    drill = Drill.objects.get(name=demo.DEMO_NAME)
    card = drill.scorecard
    assert drill.status == Drill.Status.ENDED
    assert card["simulated_hours"] == pytest.approx(demo.PLAYED_HOURS, abs=0.5)
    assert [i.at_hours for i in drill.injects.all()] == [0.0, 2.0, 5.0, 9.0, 14.0, 20.0]
    assert all(i.case_code for i in drill.injects.all())
    assert card["contacts"]["total"] > 0
    assert card["contacts"]["controlled"] < card["contacts"]["total"]  # the last ones are open
    assert card["tasks"]["total"] == 2 and card["tasks"]["on_time"] == 1
    assert card["tasks"]["overdue"] == 1 and card["tasks"]["met"] is False
    assert card["rooms"]["met"] is True
    assert gettext("No test round was started.") in card["problems"]
    assert "达标" in out.getvalue()
    assert Case.objects.count() == 0  # the live city has no case from the drill
    with routing.active(drill.sandbox):
        assert Case.objects.count() == 6
    print(f"demo drill: {seconds:.1f} s")
    assert seconds < 45
    again = io.StringIO()
    demo.drills_demo(again, 7)
    assert Drill.objects.count() == 1 and "已存在" in again.getvalue()
