"""The tracing part of the demo story, on a small synthetic city after the testing step."""

import io

import pytest
from django.core.management import call_command

from fangkong.geo.demo import demo_nodes
from fangkong.geo.models import Level
from fangkong.people.demo import demo_logins_ensure
from fangkong.testing import demo as testing_demo
from fangkong.tracing import colocation, demo, selectors
from fangkong.tracing.models import (
    Case,
    CaseEvent,
    Classification,
    ClusterEvent,
    ColocationRun,
    Contact,
    LeadState,
)


@pytest.fixture
def story(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    users = demo_logins_ensure()
    testing_demo.testing_demo(io.StringIO(), 7)
    out = io.StringIO()
    demo.tracing_demo(out, 7)
    return {"out": out.getvalue(), "users": {u.username: u for u in users}}


def test_outbreak_story(story):
    assert story["out"].startswith("流调溯源:")
    cases = Case.objects.exclude(classification=Classification.EXCLUDED)
    assert 200 <= cases.count() <= 340
    # Every case carries what the dashboards and bulletins read.
    assert not cases.filter(report_date__isnull=True).exists()
    assert not cases.exclude(classification="suspected").filter(severity="").exists()
    assert cases.filter(onset_date__isnull=False).count() > cases.count() // 2
    # The four single-tube positives of the testing round opened cases by the subscription.
    pooled = Case.objects.filter(found_by="pool_screening", source_tube__gt="")
    assert pooled.count() == 4
    assert CaseEvent.objects.filter(case__in=pooled, kind="reclassified").count() == 2
    # The curve rises to a peak and turns: the busiest week lies in the middle.
    by_day = selectors.under_control_by_day(actor=story["users"]["commander"])
    counts = [r["cases"] for r in by_day]
    peak = counts.index(max(counts))
    assert 15 < peak < len(counts) - 5
    # Clusters: four named, the largest well over five cases, one chain below the threshold.
    assert ClusterEvent.objects.count() == 4
    graph = selectors.transmission_graph(actor=story["users"]["commander"])
    sizes = sorted((c["cases"] for c in graph["components"]), reverse=True)
    assert sizes[0] >= 30 and any(2 <= s < 5 for s in sizes)
    # Later cases are found under control more often than early ones.
    early, late = by_day[: len(by_day) // 3], by_day[-len(by_day) // 3 :]

    def share(rows):
        return sum(r["under_control"] for r in rows) / max(1, sum(r["cases"] for r in rows))

    assert share(late) > share(early) + 0.2
    # Leads in every state; the demo grid's worker has leads to verify.
    states = set(Contact.objects.values_list("state", flat=True))
    assert states == set(LeadState.values)
    grid = demo_nodes()[Level.GRID]
    assert Contact.objects.filter(jpath__startswith=grid.path, state=LeadState.PUSHED).exists()
    # The demo's big data is configured for this database, and one run found companions.
    assert set(colocation.configured_sources()) == {"cell", "venue"}
    run = ColocationRun.objects.get()
    assert (run.status, run.index_persons) == ("done", 3) and run.rows > 0
    assert Contact.objects.filter(origin="cell", links__source_case_id__in=run.case_ids).exists()
    # Running again creates nothing.
    before = (Case.objects.count(), Contact.objects.count())
    out = io.StringIO()
    demo.tracing_demo(out, 7)
    assert "已存在" in out.getvalue()
    assert (Case.objects.count(), Contact.objects.count()) == before


def test_big_data_left_by_an_earlier_demo_database_is_forgotten(db, settings, tmp_path):

    settings.MEDIA_ROOT = str(tmp_path)
    base = colocation.data_dir()
    (base / "presence").mkdir(parents=True)
    colocation.mark_data_dir(base)
    assert colocation.configured_sources() == {"cell": str(base / "presence")}
    demo.stale_data_forget(io.StringIO(), 2022)
    assert colocation.configured_sources() == {}
