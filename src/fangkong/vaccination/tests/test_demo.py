"""The vaccination part of the demo story on a small synthetic city."""

import io

import pytest
from django.core.management import call_command

from fangkong.accounts.tests.factories import UserFactory
from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.vaccination import coverage, demo, selectors
from fangkong.vaccination.models import Aefi, Dose, Site


@pytest.fixture
def town(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())


def test_demo_coverage_aefi_and_overdue(town):
    out = io.StringIO()
    demo.vaccination_demo(out, 2022)
    assert "疫苗接种" in out.getvalue()
    nodes = demo_nodes()
    city = coverage.read(path=nodes[Level.CITY].path)
    total = city["total"]
    assert 85 <= total["first_pct"] <= 95
    assert 78 <= total["full_pct"] <= 90
    assert 35 <= total["booster_pct"] <= 65
    oldest = city["elderly"]["aged_80_plus"]
    assert oldest["full_pct"] < total["full_pct"]
    assert Aefi.objects.count() == 6
    assert set(Aefi.objects.values_list("status", flat=True)) == {
        "reported",
        "investigating",
        "recovered",
        "closed",
    }
    grid = nodes[Level.GRID]
    worker = UserFactory(role="grid_worker", jurisdiction=grid)
    overdue = selectors.overdue_list(actor=worker, grid=grid)
    assert overdue and any(r["kind"] == "primary" for r in overdue)
    assert selectors.unvaccinated_list(actor=worker, grid=grid).exists()
    counts = (Site.objects.count(), Dose.objects.count(), Aefi.objects.count())
    demo.vaccination_demo(io.StringIO(), 2022)
    assert (Site.objects.count(), Dose.objects.count(), Aefi.objects.count()) == counts
