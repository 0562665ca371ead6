"""The screening part of the demo story on a small synthetic city: half done, one overdue grid,
findings, and a worklist for the demo grid worker."""

import io

import pytest
from django.core.management import call_command

from fangkong.accounts.demo import demo_accounts_ensure
from fangkong.checkpoints import demo as checkpoints_demo
from fangkong.control.models import ControlOrder
from fangkong.geo.demo import demo_nodes
from fangkong.screening import demo, selectors, services
from fangkong.screening.models import Campaign, Finding, GridCoverage, Visit


@pytest.fixture
def city(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    demo_accounts_ensure(nodes=demo_nodes())
    # The checkpoints step imports the day's risk areas of other cities.
    checkpoints_demo.checkpoints_demo(io.StringIO(), 2022)


def test_demo_campaign_half_done(city, django_user_model):
    out = io.StringIO()
    demo.screening_demo(out, 2022)
    campaign = Campaign.objects.get()
    commander = django_user_model.objects.get(username="commander")
    totals = selectors.coverage(actor=commander, campaign=campaign)["totals"]
    assert 0.3 < totals["coverage"] < 0.7
    assert "入户排查" in out.getvalue()
    overdue = selectors.coverage(actor=commander, campaign=campaign)["overdue"]
    assert len(overdue) == 1
    kinds = set(Finding.objects.values_list("kind", "action"))
    assert kinds == {("risk_arrival", "order_opened"), ("symptom", "test_ordered")}
    finding = Finding.objects.get(kind="risk_arrival")
    assert ControlOrder.objects.get(pk=finding.control_order_id).category == "risk_area"
    worker = django_user_model.objects.get(username="grid_worker")
    work = selectors.worklist(actor=worker, campaign=campaign)
    households = [h for b in work["buildings"] for h in b["households"]]
    assert households and any(h["visited_at"] is None for h in households)
    assert any(h["visited_at"] is not None for h in households)
    # The writer's counters equal a recount from the visits.
    before = list(GridCoverage.objects.order_by("id").values_list("visited", "people_seen"))
    services.coverage_recount(campaign=campaign)
    after = list(GridCoverage.objects.order_by("id").values_list("visited", "people_seen"))
    assert before == after
    visits = Visit.objects.count()
    demo.screening_demo(io.StringIO(), 2022)
    assert Visit.objects.count() == visits and Campaign.objects.count() == 1
