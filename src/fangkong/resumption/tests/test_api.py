"""The API: the approval flow, the workforce (masked), status per district, readiness and the
dispatch, each scoped (another district's object is 404 and absent from lists)."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from fangkong.command.models import Task
from fangkong.common.masking import mask_id_number, mask_phone
from fangkong.people.tests.factories import PersonFactory
from fangkong.resumption import services

from .conftest import PLAN


def client_for(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def body(plan, organisation) -> dict:
    return {**plan, "resume_on": plan["resume_on"].isoformat(), "organisation": organisation.pk}


def test_file_approve_and_refuse_twice_through_the_api(org, plan):
    officer, hq = client_for(org["officer"]), client_for(org["hq"])
    filed = officer.post(
        "/api/v1/resumption/applications/", body(plan, org["factory"]), format="json"
    )
    assert filed.status_code == 201, filed.json()
    pk = filed.json()["id"]
    assert filed.json()["application_status"] == "pending"
    assert filed.json()["duty_phone"] == mask_phone("13912345678") != "13912345678"
    assert officer.post(f"/api/v1/resumption/applications/{pk}/approve/").status_code == 403
    approved = hq.post(f"/api/v1/resumption/applications/{pk}/approve/")
    assert approved.status_code == 200 and approved.json()["application_status"] == "approved"
    twice = hq.post(f"/api/v1/resumption/applications/{pk}/approve/")
    assert (twice.status_code, twice.json()["code"]) == (409, "already_approved")
    again = officer.post(
        "/api/v1/resumption/applications/", body(plan, org["factory"]), format="json"
    )
    assert (again.status_code, again.json()["code"]) == (409, "application_open")


def test_return_without_a_reason_is_a_400_with_its_code(org, plan):
    application = services.application_submit(
        actor=org["officer"], organisation=org["factory"], **plan
    )
    hq = client_for(org["hq"])
    url = f"/api/v1/resumption/applications/{application.pk}/return/"
    blank = hq.post(url, {"reason": ""}, format="json")
    assert (blank.status_code, blank.json()["code"]) == (400, "reason_required")
    returned = hq.post(url, {"reason": "宿舍人数超标"}, format="json")
    assert returned.json()["application_status"] == "returned"
    assert returned.json()["reason"] == "宿舍人数超标"


def test_applications_are_scoped(org, plan):
    mine = services.application_submit(actor=org["officer"], organisation=org["factory"], **plan)
    theirs = services.application_submit(actor=org["officer2"], organisation=org["other"], **plan)
    hq = client_for(org["hq"])
    listed = [a["id"] for a in hq.get("/api/v1/resumption/applications/").json()["results"]]
    assert listed == [mine.pk]
    assert hq.get(f"/api/v1/resumption/applications/{theirs.pk}/").status_code == 404
    assert hq.post(f"/api/v1/resumption/applications/{theirs.pk}/approve/").status_code == 404
    # An officer sees only their own organisation's, not the rest of the district.
    officer = client_for(org["officer"])
    orgs = [o["code"] for o in officer.get("/api/v1/resumption/organisations/").json()["results"]]
    assert orgs == ["E-XW1"]
    assert officer.get(f"/api/v1/resumption/organisations/{org['school'].pk}/").status_code == 404
    filed = officer.post(
        "/api/v1/resumption/applications/", body(plan, org["other"]), format="json"
    )
    assert filed.status_code == 404


def test_workers_are_masked_and_scoped(org, tree):
    person = PersonFactory(grid=tree["grid_a"], phone="13987654321")
    officer = client_for(org["officer"])
    made = officer.post(
        "/api/v1/resumption/workers/",
        {
            "organisation": org["factory"].pk,
            "document_number": person.document_number,
            "name": person.name,
            "phone": "13987654321",
            "origin": "320104",
            "arrival_date": dt.date.today().isoformat(),
            "worker_kind": "student",
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    data = made.json()
    assert data["document_number"] == mask_id_number(person.document_number)
    assert person.document_number not in made.content.decode()
    assert data["phone"] == mask_phone("13987654321")
    assert "13987654321" not in made.content.decode()
    assert (data["risk_level"], data["order_measure"], data["worker_kind"]) == (
        "high",
        "centralized",
        "student",
    )
    # The other district's officer and HQ see nothing of it.
    for user in (org["officer2"], org["hq2"]):
        other = client_for(user)
        assert other.get("/api/v1/resumption/workers/").json()["results"] == []
        assert other.get(f"/api/v1/resumption/workers/{data['id']}/").status_code == 404
    # Even a role that may see personal data gets it masked here.
    epi = client_for(org["hq"])
    listed = epi.get("/api/v1/resumption/workers/").json()["results"]
    assert [w["document_number"] for w in listed] == [data["document_number"]]


def test_status_per_district(org, plan, tree, make_user):
    services.application_submit(actor=org["officer"], organisation=org["factory"], **plan)
    other = services.application_submit(actor=org["officer2"], organisation=org["other"], **plan)
    services.application_approve(actor=org["hq2"], application=other)
    for origin in ("江苏省苏州市", "320104"):
        p = PersonFactory(grid=tree["grid_a"])
        services.worker_register(
            actor=org["officer"],
            organisation=org["factory"],
            document_number=p.document_number,
            name=p.name,
            origin=origin,
            arrival_date=dt.date.today(),
        )
    city = client_for(org["commander"])
    rows = {r["code"]: r for r in city.get("/api/v1/resumption/status/").json()["rows"]}
    assert rows["320102"] == {
        "code": "320102",
        "name": "玄武区",
        "applications": 1,
        "approved": 0,
        "pending": 1,
        "returned": 0,
        "registered": 2,
        "back": 2,
        "from_risk_areas": 1,
        "under_control": 1,
    }
    assert (rows["320104"]["applications"], rows["320104"]["approved"]) == (1, 1)
    district = client_for(org["hq"])
    assert [r["code"] for r in district.get("/api/v1/resumption/status/").json()["rows"]] == [
        "320102"
    ]
    assert district.get("/api/v1/resumption/status/", {"node": "320104"}).status_code == 404
    assert client_for(org["officer"]).get("/api/v1/resumption/status/").status_code == 403


def test_readiness_and_dispatch_through_the_api(tree, make_user):
    tree["district"].population = 50_000
    tree["district"].save(update_fields=["population"])
    hq = client_for(make_user(role="hq_staff", node="district"))
    answer = hq.get("/api/v1/readiness/")
    assert answer.status_code == 200
    lines = {line["key"]: line for line in answer.json()["lines"]}
    assert lines["isolation.rooms"]["need"] == 100 and lines["isolation.rooms"]["short"] == 100
    made = hq.post("/api/v1/readiness/dispatch/", {"key": "isolation.rooms"}, format="json")
    assert made.status_code == 201
    task = Task.objects.get(pk=made.json()["task"])
    assert task.assignee_node == tree["district"]
    twice = hq.post("/api/v1/readiness/dispatch/", {"key": "isolation.rooms"}, format="json")
    assert (twice.status_code, twice.json()["code"]) == (409, "task_open")
    assert hq.get("/api/v1/readiness/", {"node": "320104"}).status_code == 404
    assert (
        hq.post(
            "/api/v1/readiness/dispatch/",
            {"key": "isolation.rooms", "node": "320104"},
            format="json",
        ).status_code
        == 404
    )
    grid = client_for(make_user(role="grid_worker"))
    assert grid.get("/api/v1/readiness/").status_code == 403


@pytest.mark.parametrize("n", [3, 12])
def test_the_application_list_is_a_fixed_number_of_queries(
    org, plan, n, django_assert_max_num_queries
):
    from fangkong.resumption.models import Application, Organisation

    for i in range(n):
        o = Organisation.objects.create(
            code=f"S-{i}",
            name=f"学校{i}",
            kind="school",
            jurisdiction=org["school"].jurisdiction,
            jpath=org["school"].jpath,
        )
        Application.objects.create(
            organisation=o,
            jpath=o.jpath,
            submitted_at=org["area"].created_at
            if hasattr(org["area"], "created_at")
            else dt.datetime.now(dt.UTC),
            **plan,
        )
    hq = client_for(org["hq"])
    with django_assert_max_num_queries(8):
        assert len(hq.get("/api/v1/resumption/applications/").json()["results"]) == n


def test_plan_constant_is_complete():
    assert set(PLAN) >= {"duty_officer", "canteen", "dormitory", "plan", "masks", "thermometers"}
