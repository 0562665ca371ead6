"""Campaigns, the visit writer and its counters, idempotency, conflicts, findings."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from fangkong.common import errors
from fangkong.common.models import Alert
from fangkong.control.models import Category, ControlOrder
from fangkong.people.models import Person
from fangkong.screening import selectors, services
from fangkong.screening.models import Assignment, Finding, GridCoverage, Visit

from .factories import assignment_of, payload, visit

pytestmark = pytest.mark.django_db


def _counters(campaign):
    return {
        "grids": sorted(
            GridCoverage.objects.filter(campaign=campaign).values_list(
                "grid__code", "households", "visited", "residents", "people_seen", "findings"
            )
        ),
        "assignments": sorted(
            Assignment.objects.filter(campaign=campaign).values_list(
                "household_id", "visits", "people_seen", "visited_at"
            )
        ),
    }


def test_campaign_takes_the_subtree_households_set_based(campaign, homes, tree):
    assert Assignment.objects.filter(campaign=campaign).count() == 6
    assert not Assignment.objects.filter(campaign=campaign, household=homes["c"][0]).exists()
    rows = dict(
        GridCoverage.objects.filter(campaign=campaign).values_list("grid__code", "residents")
    )
    assert rows == {"320102001001G01": 5, "320102001001G02": 2}
    assert campaign.code.startswith("PC") and campaign.questions[0] == "residents"


def test_coverage_arithmetic(campaign, homes, people, make_user, tree):
    worker = make_user("grid_worker", "grid_a")
    a1 = homes["a"][0]
    three = Person.objects.filter(household=a1).order_by("id")
    visit(worker, campaign, a1, three)
    # A second visit of the same household: two people seen before and one new lodger.
    data = payload(campaign, a1, three[:2])
    data["people"].append({"name": "王租客", "lives_here": True})
    services.visit_record(actor=worker, **_kw(data))
    visit(worker, campaign, homes["a"][2], outcome="nobody_home")
    b_worker = make_user("grid_worker", "grid_b")
    visit(b_worker, campaign, homes["b"][0], people["b"][:1])

    hq = make_user("hq_staff", "district")
    figures = selectors.coverage(actor=hq, campaign=campaign)
    assert figures["totals"] == {
        "households": 6,
        "visited": 2,
        "unreached": 4,
        "coverage": 0.3333,
        "residents": 7,
        "people_seen": 5,
        "people_coverage": 0.7143,
        "findings": 0,
    }
    assert [c["code"] for c in figures["children"]] == ["320102001"]
    by_grid = selectors.coverage(actor=hq, campaign=campaign, node="320102001001")["children"]
    assert [(c["code"], c["visited"], c["households"], c["people_seen"]) for c in by_grid] == [
        ("320102001001G01", 1, 4, 4),
        ("320102001001G02", 1, 2, 1),
    ]
    assert by_grid[0]["coverage"] == 0.25
    # street (depth 4), community (5), grids (6): none finished.
    assert figures["levels"] == [
        {"depth": 4, "units": 1, "finished": 0},
        {"depth": 5, "units": 1, "finished": 0},
        {"depth": 6, "units": 2, "finished": 0},
    ]
    a = assignment_of(campaign, a1)
    assert (a.visits, a.people_seen) == (2, 4)
    # The grid worker of A sees grid A only.
    mine = selectors.coverage(actor=worker, campaign=campaign)
    assert mine["totals"]["households"] == 4 and mine["node"]["code"] == "320102001001G01"
    # The writer's counters are what a recount from the visits gives.
    before = _counters(campaign)
    services.coverage_recount(campaign=campaign)
    assert _counters(campaign) == before
    unreached = selectors.unreached_list(actor=hq, campaign=campaign)
    assert {u.household_id for u in unreached} == {h.pk for h in homes["a"][1:]} | {
        homes["b"][1].pk
    }


def _kw(data):
    return {
        "client_id": data["client_id"],
        "assignment_id": data["assignment"],
        "version": data["version"],
        "outcome": data["outcome"],
        "visited_at": data["visited_at"],
        "people": data["people"],
    }


def test_a_visit_sent_twice_is_stored_once(campaign, homes, make_user):
    worker = make_user("grid_worker", "grid_a")
    data = payload(campaign, homes["a"][1], Person.objects.filter(household=homes["a"][1]))
    first = services.visits_sync(actor=worker, visits=[data])
    second = services.visits_sync(actor=worker, visits=[data, data])
    assert first[0]["status"] == "stored"
    assert [r["status"] for r in second] == ["duplicate", "duplicate"]
    assert {r["visit"] for r in first + second} == {first[0]["visit"]}
    assert Visit.objects.count() == 1
    row = GridCoverage.objects.get(campaign=campaign, grid__code="320102001001G01")
    assert (row.visited, row.people_seen) == (1, 2)


def test_another_workers_id_is_refused(campaign, homes, make_user):
    data = payload(campaign, homes["a"][1])
    services.visits_sync(actor=make_user("grid_worker", "grid_a"), visits=[data])
    other = make_user("grid_worker", "grid_a")
    [answer] = services.visits_sync(actor=other, visits=[data])
    assert (answer["status"], answer["code"]) == ("conflict", "client_id_taken")


def test_reassigned_household_is_a_conflict_and_counters_move(campaign, homes, make_user, tree):
    worker = make_user("grid_worker", "grid_a")
    done = payload(campaign, homes["a"][0], Person.objects.filter(household=homes["a"][0]))
    services.visits_sync(actor=worker, visits=[done])
    offline = [payload(campaign, homes["a"][0]), payload(campaign, homes["a"][3])]
    hq = make_user("hq_staff", "district")
    services.assignment_reassign(
        actor=hq, assignment=assignment_of(campaign, homes["a"][0]), grid=tree["grid_b"]
    )
    answers = services.visits_sync(actor=worker, visits=offline)
    assert [(a["status"], a["code"]) for a in answers] == [
        ("conflict", "household_reassigned"),
        ("stored", ""),
    ]
    assert Visit.objects.count() == 2
    rows = dict(
        GridCoverage.objects.filter(campaign=campaign).values_list("grid__code", "households")
    )
    assert rows == {"320102001001G01": 3, "320102001001G02": 3}
    b = GridCoverage.objects.get(campaign=campaign, grid=tree["grid_b"])
    assert (b.visited, b.people_seen, b.residents) == (1, 3, 5)
    before = _counters(campaign)
    services.coverage_recount(campaign=campaign)
    assert _counters(campaign) == before


def test_closed_campaign_and_bad_visits_are_answered_per_visit(campaign, homes, make_user):
    worker = make_user("grid_worker", "grid_a")
    stranger = payload(campaign, homes["a"][1])
    stranger["people"] = [{"person": homes["b"][0].members.first().pk, "name": "x"}]
    future = payload(campaign, homes["a"][2])
    future["visited_at"] = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    answers = services.visits_sync(
        actor=worker, visits=[stranger, future, {"client_id": "nonsense"}]
    )
    assert [(a["status"], a["code"]) for a in answers] == [
        ("rejected", "person_not_in_household"),
        ("rejected", "visit_in_future"),
        ("rejected", "bad_client_id"),
    ]
    services.campaign_close(actor=None, campaign=campaign)
    [answer] = services.visits_sync(actor=worker, visits=[payload(campaign, homes["a"][1])])
    assert (answer["status"], answer["code"]) == ("conflict", "campaign_closed")
    assert Visit.objects.count() == 0


def test_a_household_of_another_grid_is_not_found(campaign, homes, make_user):
    worker = make_user("grid_worker", "grid_a")
    [answer] = services.visits_sync(actor=worker, visits=[payload(campaign, homes["b"][0])])
    assert (answer["status"], answer["code"]) == ("rejected", "not_found")


def test_risk_area_arrival_gets_a_control_order(campaign, homes, make_user, high_risk_area):
    worker = make_user("grid_worker", "grid_a")
    a2 = list(Person.objects.filter(household=homes["a"][1]).order_by("id"))
    recent = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    long_ago = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    data = payload(campaign, homes["a"][1])
    data["people"] = [
        {
            "person": a2[0].pk,
            "name": a2[0].name,
            "arrived_from": "上海市浦东新区花木街道",
            "arrived_on": recent,
        },
        {
            "person": a2[1].pk,
            "name": a2[1].name,
            "arrived_from": "上海市浦东新区花木街道",
            "arrived_on": long_ago,
        },
    ]
    [answer] = services.visits_sync(actor=worker, visits=[data])
    assert answer["status"] == "stored"
    [finding] = Finding.objects.all()
    order = ControlOrder.objects.get(person=a2[0])
    assert (finding.kind, finding.action, finding.control_order) == (
        "risk_arrival",
        "order_opened",
        order,
    )
    assert order.category == Category.RISK_AREA and finding.risk_level == "high"
    assert not ControlOrder.objects.filter(person=a2[1]).exists()
    # Met again: the order is open already and kept.
    again = payload(
        campaign, homes["a"][1], a2[:1], arrived_from="上海市浦东新区花木街道", arrived_on=recent
    )
    services.visits_sync(actor=worker, visits=[again])
    assert Finding.objects.latest("id").action == "order_exists"
    assert ControlOrder.objects.filter(person=a2[0]).count() == 1
    row = GridCoverage.objects.get(campaign=campaign, grid__code="320102001001G01")
    assert row.findings == 2


def test_fever_alerts_the_grid_for_a_test(campaign, homes, make_user, tree):
    worker = make_user("grid_worker", "grid_a")
    person = Person.objects.filter(household=homes["a"][1]).first()
    visit(worker, campaign, homes["a"][1], [person], fever=True)
    finding = Finding.objects.get()
    assert (finding.kind, finding.action, finding.detail_text) == (
        "symptom",
        "test_ordered",
        "fever",
    )
    assert (finding.detail_code, finding.params) == ("symptom", {"fever": True, "symptoms": False})
    assert (finding.test_order.person, finding.test_order.reason) == (person, "fever")
    alert = Alert.objects.get(kind="screening_symptom")
    assert alert.jurisdiction_path == tree["grid_a"].path and person.name in alert.title
    assert alert.level == "critical"


def test_overdue_grids(campaign, make_user, tree, homes):
    hq = make_user("hq_staff", "district")
    services.grid_deadline_set(
        actor=hq,
        campaign=campaign,
        grid=tree["grid_b"],
        deadline=timezone.now() - dt.timedelta(hours=1),
    )
    overdue = selectors.coverage(actor=hq, campaign=campaign)["overdue"]
    assert [(o["code"], o["unreached"]) for o in overdue] == [("320102001001G02", 2)]
    with pytest.raises(services.ScreeningError) as exc:
        services.grid_deadline_set(
            actor=hq,
            campaign=campaign,
            grid=tree["grid_b"],
            deadline=campaign.deadline + dt.timedelta(days=1),
        )
    assert exc.value.code == "deadline_after"


def test_roles_and_scope_of_writes(tree, homes, make_user, campaign):
    deadline = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(errors.Forbidden):
        services.campaign_open(
            actor=make_user("grid_worker", "grid_a"),
            jurisdiction=tree["grid_a"],
            name="x",
            deadline=deadline,
        )
    with pytest.raises(errors.NotFound):
        services.campaign_open(
            actor=make_user("hq_staff", "district2"),
            jurisdiction=tree["district"],
            name="x",
            deadline=deadline,
        )
    with pytest.raises(services.ScreeningError) as exc:
        services.campaign_open(
            actor=None, jurisdiction=tree["district"], name="x", deadline=timezone.now()
        )
    assert exc.value.code == "deadline_past"
    with pytest.raises(errors.Forbidden):
        services.visits_sync(actor=make_user("hq_staff", "district"), visits=[])
    with pytest.raises(errors.NotFound):
        services.assignment_reassign(
            actor=make_user("hq_staff", "district"),
            assignment=assignment_of(campaign, homes["a"][0]),
            grid=tree["grid_c"],
        )
    assert uuid.UUID(payload(campaign, homes["a"][0])["client_id"])
