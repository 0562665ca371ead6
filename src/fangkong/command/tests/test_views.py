"""The command pages: the task board with htmx feedback, inspections, findings, levels, risk areas, scope."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from fangkong.command import services
from fangkong.command.models import CheckItem, Finding, Inspection, Proposal, RiskArea, Task

TZ = ZoneInfo("Asia/Shanghai")
DEADLINE = dt.datetime(2022, 4, 2, 18, 0, tzinfo=TZ)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def users(tree, make_user):
    return {
        "hq": make_user(role="commander", node="city"),
        "district": make_user(role="hq_staff", node="district"),
        "district2": make_user(role="hq_staff", node="district2"),
        "grid_a": make_user(node="grid_a"),
        "grid_b": make_user(node="grid_b"),
        "inspector": make_user(role="inspector", node="district", working_group="inspection"),
    }


def test_task_board_dispatch_and_htmx_feedback(tree, users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    district = login(users["district"])
    page = district.get("/command/")
    assert page.status_code == 200
    assert b"Dispatch a task" in page.content
    refused = district.post(
        "/command/",
        {
            "title": "x",
            "deadline": "2022-04-02 18:00",
            "priority": "normal",
            "node": "320104001001G01",
        },
    )
    assert b"no such node in your jurisdiction" in refused.content
    response = district.post(
        "/command/",
        {
            "title": "核酸筛查动员",
            "deadline": "2022-04-02 18:00",
            "priority": "high",
            "node": "320102001001G01",
        },
    )
    task = Task.objects.get(title="核酸筛查动员")
    assert response.status_code == 302
    assert response["Location"] == f"/command/tasks/{task.pk}/"
    grid_a = login(users["grid_a"])
    board = grid_a.get("/command/")
    assert "核酸筛查动员" in board.content.decode()
    assert b"Dispatch a task" not in board.content
    assert grid_a.post("/command/", {"title": "x"}).status_code == 403
    partial = grid_a.post(
        f"/command/tasks/{task.pk}/feedback/",
        {"text": "已通知全部楼栋长", "percent": "30"},
        HTTP_HX_REQUEST="true",
    )
    assert partial.status_code == 200
    text = partial.content.decode()
    assert "已通知全部楼栋长 (30%)" in text
    assert "<html" not in text
    assert login(users["grid_b"]).get(f"/command/tasks/{task.pk}/").status_code == 404
    assert (
        login(users["grid_b"])
        .post(f"/command/tasks/{task.pk}/feedback/", {"text": "x"})
        .status_code
        == 404
    )
    assert login(users["district2"]).get(f"/command/tasks/{task.pk}/").status_code == 404


def test_overdue_tasks_come_first_on_the_board(tree, users, django_assert_max_num_queries):
    late = services.task_dispatch(
        actor=users["district"], title="已超期任务", deadline=DEADLINE, node=tree["grid_a"]
    )
    for i in range(10):
        services.task_dispatch(
            actor=users["district"],
            title=f"未来任务{i}",
            deadline=dt.datetime(2099, 1, 1, tzinfo=TZ),
            node=tree["grid_a"],
        )
    client = login(users["grid_a"])
    with django_assert_max_num_queries(8):
        page = client.get("/command/")
    text = page.content.decode()
    assert text.index("已超期任务") < text.index("未来任务0")
    assert late.title in text


def test_inspection_pages_checklist_and_closure(tree, users):
    inspector = login(users["inspector"])
    started = inspector.post(
        "/command/inspections/",
        {"place": "梅园新村卡口", "node": "320102001001G01", "unannounced": "on"},
    )
    inspection = Inspection.objects.get()
    assert started["Location"] == f"/command/inspections/{inspection.pk}/checklist/"
    form = inspector.get(started["Location"])
    assert "人员排查关" in form.content.decode()
    items = list(CheckItem.objects.values_list("pk", flat=True))
    data = {f"result_{pk}": "ok" for pk in items}
    data[f"result_{items[2]}"] = "finding"
    data[f"note_{items[2]}"] = "登记不全"
    missing_deadline = inspector.post(started["Location"], data)
    assert b"rectification deadline" in missing_deadline.content
    data["deadline"] = "2022-04-05"
    inspector.post(started["Location"], data)
    finding = Finding.objects.get()
    assert finding.description == "登记不全"
    grid_a = login(users["grid_a"])
    assert "登记不全" in grid_a.get("/command/findings/").content.decode()
    assert "登记不全" not in login(users["grid_b"]).get("/command/findings/").content.decode()
    assert login(users["grid_b"]).get(f"/command/findings/{finding.pk}/").status_code == 404
    assert login(users["grid_b"]).get(f"/command/inspections/{inspection.pk}/").status_code == 404
    grid_a.post(f"/command/findings/{finding.pk}/", {"step": "rectify", "evidence_text": "已补登"})
    inspector.post(f"/command/findings/{finding.pk}/", {"step": "accept"})
    inspection.refresh_from_db()
    assert inspection.state == "closed"
    listing = inspector.get("/command/inspections/").content.decode()
    assert "梅园新村卡口" in listing
    assert "Closed" in listing


def test_response_level_page(users):
    hq = login(users["hq"])
    hq.post("/command/response-level/", {"level": "2", "reason": "本土聚集性疫情"})
    page = login(users["grid_a"]).get("/command/response-level/").content.decode()
    assert "Level II" in page
    assert "本土聚集性疫情" in page
    assert (
        login(users["grid_a"]).post("/command/response-level/", {"level": "1"}).status_code == 403
    )


def test_risk_area_page_declare_import_and_decide(tree, users):
    hq = login(users["hq"])
    hq.post(
        "/command/risk-areas/",
        {"node": "320102001001G01", "level": "high", "preset": "2022-06", "since": "2022-06-01"},
    )
    area = RiskArea.objects.get()
    csv_file = (
        b"province,city,district,area_name,level,since\n"
        b"\xe4\xb8\x8a\xe6\xb5\xb7,\xe4\xb8\x8a\xe6\xb5\xb7,,X,bad,2022-01-01\n"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = hq.post(
        "/command/risk-areas/", {"file": SimpleUploadedFile("r.csv", csv_file)}, follow=True
    )
    assert "line 2, level: unknown risk level" in response.content.decode()
    services.risk_area_update(actor=users["hq"], area=area, negative_round_on=dt.date(2022, 6, 8))
    [proposal] = services.risk_areas_review(today=dt.date(2022, 6, 8), last_case_on_by_path={})
    page = login(users["grid_a"]).get("/command/risk-areas/").content.decode()
    assert "第一网格" in page and "Approve" not in page
    assert "第一网格" not in login(users["district2"]).get("/command/risk-areas/").content.decode()
    assert (
        login(users["district2"]).post(f"/command/proposals/{proposal.pk}/decide/").status_code
        == 404
    )
    hq.post(f"/command/proposals/{proposal.pk}/decide/", {"decision": "approve"})
    proposal.refresh_from_db()
    area.refresh_from_db()
    assert (proposal.state, area.level) == (Proposal.State.APPROVED, "medium")
