"""The screening API: campaigns, coverage, worklist (masking and audit), sync, scope."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from fangkong.audit.models import AuditEntry
from fangkong.people.models import Person
from fangkong.screening.models import Assignment, Campaign, Visit

from .factories import payload, visit

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_open_campaign_and_scope(make_user, tree, homes):
    hq = make_user("hq_staff", "district")
    deadline = (timezone.now() + dt.timedelta(days=2)).isoformat()
    response = api(hq).post(
        "/api/v1/screening/campaigns/",
        {"jurisdiction": "320102", "name": "玄武区排查", "deadline": deadline, "risk_days": 7},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["jurisdiction_code"], body["risk_days"], body["status"]) == ("320102", 7, "open")
    pk = body["id"]
    other = api(make_user("hq_staff", "district2"))
    assert other.get(f"/api/v1/screening/campaigns/{pk}/").status_code == 404
    assert other.get(f"/api/v1/screening/campaigns/{pk}/coverage/").status_code == 404
    assert other.get("/api/v1/screening/campaigns/").json()["results"] == []
    # A grid worker of the district sees the district's campaign (it is above the grid).
    worker = api(make_user("grid_worker", "grid_a"))
    assert [c["id"] for c in worker.get("/api/v1/screening/campaigns/").json()["results"]] == [pk]
    refused = other.post(
        "/api/v1/screening/campaigns/",
        {"jurisdiction": "320102", "name": "x", "deadline": deadline},
        format="json",
    )
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    forbidden = worker.post(
        "/api/v1/screening/campaigns/",
        {"jurisdiction": "320102001001G01", "name": "x", "deadline": deadline},
        format="json",
    )
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    past = api(hq).post(
        "/api/v1/screening/campaigns/",
        {"jurisdiction": "320102", "name": "x", "deadline": "2020-01-01T00:00:00Z"},
        format="json",
    )
    assert past.status_code == 400 and past.json()["code"] == "deadline_past"


def test_coverage_endpoint(campaign, make_user, homes):
    worker = make_user("grid_worker", "grid_a")
    visit(worker, campaign, homes["a"][0], Person.objects.filter(household=homes["a"][0]))
    hq = api(make_user("commander", "district"))
    body = hq.get(f"/api/v1/screening/campaigns/{campaign.pk}/coverage/?node=320102001001").json()
    assert body["totals"]["visited"] == 1 and body["totals"]["households"] == 6
    assert [(c["code"], c["visited"], c["people_seen"]) for c in body["children"]] == [
        ("320102001001G01", 1, 3),
        ("320102001001G02", 0, 0),
    ]
    outside = hq.get(f"/api/v1/screening/campaigns/{campaign.pk}/coverage/?node=320104")
    assert outside.status_code == 404
    unreached = hq.get(f"/api/v1/screening/campaigns/{campaign.pk}/unreached/").json()
    assert unreached["count"] == 5
    # The grid worker of B: grid B's two only.
    b = api(make_user("grid_worker", "grid_b"))
    rows = b.get(f"/api/v1/screening/campaigns/{campaign.pk}/unreached/").json()["results"]
    assert {r["grid_code"] for r in rows} == {"320102001001G02"} and len(rows) == 2


def test_worklist_is_the_workers_grid_unmasked_and_audited(campaign, make_user, homes):
    worker = make_user("grid_worker", "grid_a")
    with CaptureQueriesContext(connection) as queries:
        body = api(worker).get(f"/api/v1/screening/campaigns/{campaign.pk}/worklist/").json()
    assert len(queries) < 15
    households = [h for b in body["buildings"] for h in b["households"]]
    assert {h["household"] for h in households} == {h.pk for h in homes["a"]}
    member = next(m for h in households for m in h["members"])
    person = Person.objects.get(pk=member["id"])
    assert member["document_number"] == person.document_number
    assert member["phone"] == person.phone
    entry = AuditEntry.objects.get(action="view_pii", object_type="screening.campaign")
    assert person.pk in entry.changes["people"]


def test_worklist_is_masked_for_roles_without_pii(campaign, make_user, homes):
    commander = make_user("commander", "district")
    body = api(commander).get(f"/api/v1/screening/campaigns/{campaign.pk}/worklist/").json()
    members = [m for b in body["buildings"] for h in b["households"] for m in h["members"]]
    assert len(members) == 7
    for member in members:
        person = Person.objects.get(pk=member["id"])
        assert member["document_number"] != person.document_number
        assert "*" in member["document_number"] and "*" in member["phone"]
        assert member["age"] is None and member["age_band"]
    assert not AuditEntry.objects.filter(action="view_pii").exists()


def test_sync_is_idempotent_and_answers_per_visit(campaign, make_user, homes, tree):
    worker = api(make_user("grid_worker", "grid_a"))
    one = payload(campaign, homes["a"][1], Person.objects.filter(household=homes["a"][1]))
    response = worker.post("/api/v1/screening/visits/sync/", {"visits": [one]}, format="json")
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "stored"
    again = worker.post("/api/v1/screening/visits/sync/", {"visits": [one]}, format="json")
    assert again.json()["results"][0]["status"] == "duplicate"
    assert Visit.objects.count() == 1
    bad = worker.post(
        "/api/v1/screening/visits/sync/", {"visits": [{"client_id": "x"}]}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    # Another grid's worker neither lists nor opens the visit.
    pk = Visit.objects.get().pk
    b = api(make_user("grid_worker", "grid_b"))
    assert b.get(f"/api/v1/screening/visits/{pk}/").status_code == 404
    assert b.get("/api/v1/screening/visits/").json()["results"] == []
    mine = worker.get(f"/api/v1/screening/visits/{pk}/").json()
    assert mine["outcome"] == "met" and len(mine["people"]) == 2


def test_findings_scope(campaign, make_user, homes):
    worker = make_user("grid_worker", "grid_a")
    person = Person.objects.filter(household=homes["a"][1]).first()
    visit(worker, campaign, homes["a"][1], [person], symptoms=True)
    district = api(make_user("epidemiologist", "district"))
    [finding] = district.get("/api/v1/screening/findings/").json()["results"]
    assert (finding["kind"], finding["action"], finding["name"]) == (
        "symptom",
        "test_ordered",
        person.name,
    )
    other = api(make_user("epidemiologist", "district2"))
    assert other.get("/api/v1/screening/findings/").json()["results"] == []
    assert other.get(f"/api/v1/screening/findings/{finding['id']}/").status_code == 404


def test_reassign_through_the_api(campaign, make_user, homes, tree):
    hq = api(make_user("hq_staff", "district"))
    assignment = Assignment.objects.get(campaign=campaign, household=homes["a"][3])
    url = f"/api/v1/screening/assignments/{assignment.pk}/reassign/"
    response = hq.post(url, {"grid": "320102001001G02"}, format="json")
    assert response.status_code == 200 and response.json()["grid_code"] == "320102001001G02"
    assert response.json()["version"] == 2
    assert hq.post(url, {"grid": "320104001001G01"}, format="json").status_code == 404
    worker = api(make_user("grid_worker", "grid_a"))
    assert worker.post(url, {"grid": "320102001001G01"}, format="json").status_code == 404
    b_worker = api(make_user("grid_worker", "grid_b"))
    refused = b_worker.post(url, {"grid": "320102001001G02"}, format="json")
    assert refused.status_code == 403
    closed = hq.post(f"/api/v1/screening/campaigns/{campaign.pk}/close/")
    assert closed.json()["status"] == "closed"
    assert Campaign.objects.get().closed_at is not None
    again = hq.post(f"/api/v1/screening/campaigns/{campaign.pk}/close/")
    assert again.status_code == 409 and again.json()["code"] == "campaign_closed"
