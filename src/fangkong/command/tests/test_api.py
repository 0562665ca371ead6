"""The command API: scope per endpoint (404 outside the subtree, absent from lists), flows, query counts."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from fangkong.command import services
from fangkong.command.models import CheckItem, Proposal, RiskArea, Task, Unit

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = dt.datetime(2022, 4, 2, 18, 0, tzinfo=TZ)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def setup(tree, make_user):
    hq = make_user(role="commander", node="city")
    district = make_user(role="hq_staff", node="district")
    district2 = make_user(role="hq_staff", node="district2")
    grid_a = make_user(node="grid_a")
    grid_b = make_user(node="grid_b")
    task_a = services.task_dispatch(
        actor=district, title="A", deadline=DEADLINE, node=tree["grid_a"]
    )
    task_c = services.task_dispatch(
        actor=district2, title="C", deadline=DEADLINE, node=tree["grid_c"]
    )
    return locals()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_tasks_scope_per_endpoint(setup):
    s = setup
    grid_a, grid_b = client_for(s["grid_a"]), client_for(s["grid_b"])
    assert ids(grid_a.get("/api/v1/command/tasks/")) == [s["task_a"].pk]
    assert ids(grid_b.get("/api/v1/command/tasks/")) == []
    assert ids(client_for(s["hq"]).get("/api/v1/command/tasks/")) == [
        s["task_a"].pk,
        s["task_c"].pk,
    ]
    assert grid_b.get(f"/api/v1/command/tasks/{s['task_a'].pk}/").status_code == 404
    assert (
        grid_b.post(
            f"/api/v1/command/tasks/{s['task_a'].pk}/feedback/", {"text": "x"}, format="json"
        ).status_code
        == 404
    )
    detail = grid_a.get(f"/api/v1/command/tasks/{s['task_a'].pk}/").json()
    assert detail["assignee"] == {
        "type": "node",
        "code": "320102001001G01",
        "name": "第一网格",
    }
    assert [u["kind"] for u in detail["updates"]] == ["created"]


def test_dispatch_feedback_and_state_through_the_api(setup, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    s = setup
    district = client_for(s["district"])
    # Sideways into another district's grid: the node does not exist for this caller.
    refused = district.post(
        "/api/v1/command/tasks/",
        {"title": "x", "deadline": DEADLINE.isoformat(), "node": "320104001001G01"},
        format="json",
    )
    assert refused.status_code == 404
    missing = district.post(
        "/api/v1/command/tasks/", {"title": "x", "deadline": DEADLINE.isoformat()}, format="json"
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "assignee_required"
    created = district.post(
        "/api/v1/command/tasks/",
        {
            "title": "入户排查",
            "deadline": DEADLINE.isoformat(),
            "node": "320102001001G02",
            "priority": "urgent",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]
    grid_b = client_for(s["grid_b"])
    fed = grid_b.post(
        f"/api/v1/command/tasks/{task_id}/feedback/",
        {"text": "完成一半", "percent": 50, "attachment": SimpleUploadedFile("a.txt", b"x")},
        format="multipart",
    )
    assert fed.status_code == 201, fed.content
    assert fed.json()["percent"] == 50
    # The attachment is downloaded through a scoped view, by those who see the task only.
    update = grid_b.get(f"/api/v1/command/tasks/{task_id}/").json()
    url = next(u["attachment"] for u in update["updates"] if u["attachment"])
    assert url.startswith(f"/command/tasks/{task_id}/updates/")
    web = Client()
    web.force_login(s["district"])
    got = web.get(url)
    assert (got.status_code, b"".join(got.streaming_content)) == (200, b"x")
    assert got["Content-Disposition"].startswith("attachment;")
    web.force_login(s["district2"])
    assert web.get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    bad = grid_b.post(f"/api/v1/command/tasks/{task_id}/feedback/", {"percent": 120}, format="json")
    assert bad.status_code == 400
    cancel = grid_b.post(
        f"/api/v1/command/tasks/{task_id}/state/", {"state": "cancelled"}, format="json"
    )
    assert cancel.status_code == 403
    done = grid_b.post(f"/api/v1/command/tasks/{task_id}/state/", {"state": "done"}, format="json")
    assert done.json()["state"] == "done"
    assert Task.objects.get(pk=task_id).percent == 100
    board = grid_b.get("/api/v1/command/tasks/?box=assigned")
    assert ids(board) == []


def test_task_list_query_count(setup, tree, django_assert_max_num_queries):
    s = setup
    unit = services.unit_create(
        actor=s["hq"], name="指挥部", kind=Unit.Kind.HQ, jurisdiction=tree["city"]
    )
    for i in range(15):
        services.task_dispatch(actor=s["hq"], title=f"u{i}", deadline=DEADLINE, unit=unit)
        services.task_dispatch(actor=s["hq"], title=f"g{i}", deadline=DEADLINE, user=s["grid_a"])
    client = client_for(s["hq"])
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/command/tasks/")
    assert len(response.json()["results"]) == 32


def test_units_scope(setup, tree):
    s = setup
    hq = client_for(s["hq"])
    created = hq.post(
        "/api/v1/command/units/",
        {
            "name": "流调溯源组",
            "kind": "working_group",
            "node": "320100",
            "working_group": "tracing",
        },
        format="json",
    )
    assert created.status_code == 201
    services.unit_create(
        actor=s["hq"], name="玄武区指挥部", kind="hq", jurisdiction=tree["district"]
    )
    assert [
        u["name"] for u in client_for(s["district"]).get("/api/v1/command/units/").json()["results"]
    ] == ["玄武区指挥部"]
    assert client_for(s["district2"]).get("/api/v1/command/units/").json()["count"] == 0


def test_inspection_flow_and_scope(setup, tree, make_user):
    s = setup
    inspector = make_user(role="inspector", node="district", working_group="inspection")
    client = client_for(inspector)
    started = client.post(
        "/api/v1/command/inspections/",
        {"place": "第一网格卡口", "node": "320102001001G01", "unannounced": True},
        format="json",
    )
    assert started.status_code == 201, started.content
    pk = started.json()["id"]
    items = list(CheckItem.objects.values_list("pk", flat=True))
    answers = [{"item": i, "result": "ok"} for i in items]
    answers[0] = {"item": items[0], "result": "finding", "note": "无人值守"}
    submitted = client.post(
        f"/api/v1/command/inspections/{pk}/submit/",
        {"answers": answers, "deadline": "2022-04-05"},
        format="json",
    )
    assert submitted.status_code == 200, submitted.content
    [finding] = submitted.json()["findings"]
    assert (finding["description"], finding["state"]) == ("无人值守", "open")
    grid_a, grid_b = client_for(s["grid_a"]), client_for(s["grid_b"])
    assert grid_b.get(f"/api/v1/command/inspections/{pk}/").status_code == 404
    assert ids(grid_b.get("/api/v1/command/inspections/")) == []
    assert ids(grid_b.get("/api/v1/command/findings/")) == []
    assert grid_b.get(f"/api/v1/command/findings/{finding['id']}/").status_code == 404
    assert ids(grid_a.get("/api/v1/command/findings/?open=1")) == [finding["id"]]
    no_evidence = grid_a.post(f"/api/v1/command/findings/{finding['id']}/rectify/", {})
    assert no_evidence.status_code == 400
    rectified = grid_a.post(
        f"/api/v1/command/findings/{finding['id']}/rectify/", {"evidence_text": "已安排专人值守"}
    )
    assert rectified.json()["state"] == "rectified"
    assert grid_a.post(f"/api/v1/command/findings/{finding['id']}/accept/").status_code == 403
    accepted = client.post(f"/api/v1/command/findings/{finding['id']}/accept/")
    assert accepted.json()["state"] == "accepted"
    assert client.get(f"/api/v1/command/inspections/{pk}/").json()["state"] == "closed"


def test_response_levels(setup):
    s = setup
    hq = client_for(s["hq"])
    assert hq.get("/api/v1/command/response-levels/current/").status_code == 404
    declared = hq.post(
        "/api/v1/command/response-levels/", {"level": 2, "reason": "本土疫情"}, format="json"
    )
    assert declared.status_code == 201
    assert (
        hq.post("/api/v1/command/response-levels/", {"level": 7}, format="json").status_code == 400
    )
    grid_a = client_for(s["grid_a"])
    assert grid_a.get("/api/v1/command/response-levels/current/").json()["level"] == 2
    assert grid_a.post("/api/v1/command/response-levels/", {"level": 1}).status_code == 403


def test_risk_areas_and_proposals_scope(setup, tree):
    s = setup
    hq = client_for(s["hq"])
    created = hq.post(
        "/api/v1/command/risk-areas/",
        {"level": "high", "since": "2022-06-01", "node": "320102001001G01", "reason": "聚集性疫情"},
        format="json",
    )
    assert created.status_code == 201, created.content
    area_a = RiskArea.objects.get(pk=created.json()["id"])
    area_c = services.risk_area_declare(
        actor=s["hq"], level="medium", since=dt.date(2022, 6, 1), jurisdiction=tree["grid_c"]
    )
    upload = SimpleUploadedFile(
        "r.csv",
        "province,city,district,area_name,level,since\n上海市,上海市,浦东新区,陆家嘴街道,high,2022-04-01\n".encode(),
    )
    imported = hq.post("/api/v1/command/risk-areas/import/", {"file": upload}, format="multipart")
    assert imported.status_code == 201
    assert imported.json()["created"] == 1
    external = RiskArea.objects.get(external=True)
    grid_b = client_for(s["grid_b"])
    # Other cities' areas are public; this city's areas only within the subtree.
    assert ids(grid_b.get("/api/v1/command/risk-areas/")) == [external.pk]
    assert grid_b.get(f"/api/v1/command/risk-areas/{area_a.pk}/").status_code == 404
    district = client_for(s["district"])
    assert set(ids(district.get("/api/v1/command/risk-areas/"))) == {area_a.pk, external.pk}
    facts = hq.post(
        f"/api/v1/command/risk-areas/{area_a.pk}/facts/",
        {"last_case_on": "2022-06-03", "negative_round_on": "2022-06-09"},
        format="json",
    )
    assert facts.json()["last_case_on"] == "2022-06-03"
    services.risk_area_update(actor=s["hq"], area=area_c, last_case_on=dt.date(2022, 6, 3))
    proposals = services.risk_areas_review(today=dt.date(2022, 6, 10), last_case_on_by_path={})
    assert len(proposals) == 2
    pa = Proposal.objects.get(area=area_a)
    pc = Proposal.objects.get(area=area_c)
    assert ids(district.get("/api/v1/command/proposals/")) == [pa.pk]
    assert district.post(f"/api/v1/command/proposals/{pc.pk}/approve/").status_code == 404
    # Only inside its subtree may HQ staff decide.
    approved = hq.post(f"/api/v1/command/proposals/{pa.pk}/approve/")
    assert approved.json()["state"] == "approved"
    area_a.refresh_from_db()
    assert area_a.level == "medium"
    again = hq.post(f"/api/v1/command/proposals/{pa.pk}/approve/")
    assert again.status_code == 400


def test_risk_area_list_query_count(setup, tree, django_assert_max_num_queries):
    s = setup
    for i in range(20):
        RiskArea.objects.create(
            name=f"区{i}",
            level="high",
            external=True,
            since=dt.date(2022, 6, 1),
            level_since=dt.date(2022, 6, 1),
            external_key=str(i),
        )
    with django_assert_max_num_queries(3):
        response = client_for(s["hq"]).get("/api/v1/command/risk-areas/")
    assert response.json()["count"] == 20


def test_inspection_finding_and_proposal_lists_query_count(
    setup, tree, make_user, django_assert_max_num_queries
):
    s = setup
    inspector = make_user(role="inspector", node="district", working_group="inspection")
    items = list(CheckItem.objects.values_list("pk", flat=True))
    for i in range(6):
        inspection = services.inspection_start(
            actor=inspector, place=f"卡口{i}", jurisdiction=tree["grid_a"]
        )
        answers = {pk: ("finding", f"问题{pk}") for pk in items[:3]}
        answers.update({pk: ("ok", "") for pk in items[3:]})
        services.inspection_submit(
            actor=inspector, inspection=inspection, answers=answers, deadline=dt.date(2022, 4, 5)
        )
    for _i in range(5):
        services.risk_area_declare(
            actor=s["hq"], level="medium", since=dt.date(2022, 6, 1), jurisdiction=tree["grid_a"]
        )
    services.risk_areas_review(today=dt.date(2022, 6, 20), last_case_on_by_path={})
    client = client_for(s["district"])
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/command/inspections/").json()["count"] == 6
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/command/findings/").json()["count"] == 18
    with django_assert_max_num_queries(3):
        assert client.get("/api/v1/command/proposals/").json()["count"] == 5


def test_response_level_of_a_district_binds_only_that_district(setup, tree):
    s = setup
    services.response_level_declare(actor=s["hq"], level=2, reason="全市")
    district_level = services.response_level_declare(
        actor=s["district"], level=1, reason="玄武区提级", jurisdiction=tree["district"]
    )
    grid_a, district2 = client_for(s["grid_a"]), client_for(s["district2"])
    assert grid_a.get("/api/v1/command/response-levels/current/").json()["level"] == 1
    assert district2.get("/api/v1/command/response-levels/current/").json()["level"] == 2
    assert district_level.pk not in ids(district2.get("/api/v1/command/response-levels/"))
    assert len(ids(grid_a.get("/api/v1/command/response-levels/"))) == 2
    assert district2.get(f"/api/v1/command/response-levels/{district_level.pk}/").status_code == 404
    # The operator (superuser without a node) sees the city's level in force.
    admin = s["hq"].__class__.objects.create(username="root", is_superuser=True, role="admin")
    assert client_for(admin).get("/api/v1/command/response-levels/current/").json()["level"] == 2
