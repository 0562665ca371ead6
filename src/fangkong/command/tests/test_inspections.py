"""Inspections: the shipped six-gate checklist, findings, rectification, acceptance and overdue alerts."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from fangkong.command import selectors, services
from fangkong.command.models import CheckItem, ChecklistTemplate, Finding, Inspection
from fangkong.common.models import Alert


@pytest.fixture
def inspector(make_user):
    return make_user(role="inspector", node="district", working_group="inspection")


def answers_all_ok():
    return {pk: ("ok", "") for pk in CheckItem.objects.values_list("pk", flat=True)}


def test_default_template_has_six_gates(db):
    template = ChecklistTemplate.objects.get()
    assert list(template.gates.values_list("code", flat=True)) == [
        "screening",
        "traffic",
        "transfer",
        "isolation",
        "goods",
        "places",
    ]
    assert CheckItem.objects.filter(gate__template=template).count() == 18


def test_clean_checklist_closes_at_once(tree, inspector):
    inspection = services.inspection_start(
        actor=inspector, place="长江路社区卡口", jurisdiction=tree["community"], unannounced=True
    )
    services.inspection_submit(actor=inspector, inspection=inspection, answers=answers_all_ok())
    inspection.refresh_from_db()
    assert inspection.state == "closed"
    assert inspection.answers.count() == 18


def test_checklist_must_be_complete_and_findings_described(tree, inspector):
    inspection = services.inspection_start(
        actor=inspector, place="卡口", jurisdiction=tree["community"]
    )
    answers = answers_all_ok()
    first = next(iter(answers))
    with pytest.raises(services.CommandRefused) as refused:
        services.inspection_submit(
            actor=inspector,
            inspection=inspection,
            answers={k: v for k, v in answers.items() if k != first},
        )
    assert refused.value.code == "items_unanswered"
    answers[first] = ("finding", "  ")
    with pytest.raises(services.CommandRefused) as refused:
        services.inspection_submit(actor=inspector, inspection=inspection, answers=answers)
    assert refused.value.code == "finding_note_required"
    answers[first] = ("finding", "体温记录缺失")
    with pytest.raises(services.CommandRefused) as refused:
        services.inspection_submit(actor=inspector, inspection=inspection, answers=answers)

    assert refused.value.code == "deadline_required"


def test_closure_flow_with_evidence_rejection_and_acceptance(
    tree, make_user, inspector, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    inspection = services.inspection_start(
        actor=inspector, place="第一网格 3号楼", jurisdiction=tree["grid_a"]
    )
    answers = answers_all_ok()
    items = list(answers)
    answers[items[0]] = ("finding", "未逐户核实")
    answers[items[5]] = ("finding", "转运车辆未消毒")
    services.inspection_submit(
        actor=inspector, inspection=inspection, answers=answers, deadline=dt.date(2022, 4, 5)
    )
    inspection.refresh_from_db()
    assert inspection.state == Inspection.State.SUBMITTED
    one, two = inspection.findings.order_by("id")
    assert (one.description, one.jpath, one.deadline) == (
        "未逐户核实",
        tree["grid_a"].path,
        dt.date(2022, 4, 5),
    )
    grid_a = make_user(node="grid_a")
    grid_b = make_user(node="grid_b")
    assert {f.pk for f in selectors.finding_list(actor=grid_a)} == {one.pk, two.pk}
    assert list(selectors.finding_list(actor=grid_b)) == []
    with pytest.raises(PermissionDenied):
        services.finding_rectify(actor=grid_b, finding=one, evidence_text="done")
    with pytest.raises(services.CommandRefused) as refused:
        services.finding_accept(actor=inspector, finding=one)
    assert refused.value.code == "finding_not_rectified"
    with pytest.raises(services.CommandRefused) as refused:
        services.finding_rectify(actor=grid_a, finding=one, evidence_text=" ")

    assert refused.value.code == "evidence_required"
    services.finding_rectify(
        actor=grid_a,
        finding=one,
        evidence_text="已补齐台账",
        evidence_file=SimpleUploadedFile("photo.jpg", b"jpg"),
    )
    services.finding_reject(actor=inspector, finding=one, reason="台账不全")
    one.refresh_from_db()
    assert (one.state, one.rejection) == ("open", "台账不全")
    # The place may not accept its own rectification.
    services.finding_rectify(actor=grid_a, finding=one, evidence_text="补齐全部台账")
    with pytest.raises(PermissionDenied):
        services.finding_accept(actor=grid_a, finding=one)
    services.finding_accept(actor=inspector, finding=one)
    inspection.refresh_from_db()
    assert inspection.state == Inspection.State.SUBMITTED
    services.finding_rectify(actor=grid_a, finding=two, evidence_text="已消毒并建立记录")
    services.finding_accept(actor=inspector, finding=two)
    inspection.refresh_from_db()
    assert inspection.state == Inspection.State.CLOSED
    assert inspection.closed_at is not None
    one.refresh_from_db()
    assert one.evidence_file.read() == b"jpg"
    # Downloaded by those who see the finding, through a scoped view (no public media URL).
    web = Client()
    web.force_login(grid_a)
    page = web.get(f"/command/findings/{one.pk}/").content.decode()
    assert f'href="/command/findings/{one.pk}/evidence/"' in page
    got = web.get(f"/command/findings/{one.pk}/evidence/")
    assert (got.status_code, b"".join(got.streaming_content)) == (200, b"jpg")
    web.force_login(make_user(node="grid_c"))
    assert web.get(f"/command/findings/{one.pk}/evidence/").status_code == 404
    assert web.get(f"/command/findings/{two.pk}/evidence/").status_code == 404


def test_overdue_rectifications_raise_one_alert_each(tree, inspector):
    inspection = services.inspection_start(
        actor=inspector, place="卡口", jurisdiction=tree["grid_a"]
    )
    answers = answers_all_ok()
    answers[next(iter(answers))] = ("finding", "无人值守")
    services.inspection_submit(
        actor=inspector, inspection=inspection, answers=answers, deadline=dt.date(2022, 4, 5)
    )
    assert services.findings_overdue_alert(today=dt.date(2022, 4, 5)) == 0
    assert services.findings_overdue_alert(today=dt.date(2022, 4, 6)) == 1
    services.findings_overdue_alert(today=dt.date(2022, 4, 7))
    alert = Alert.objects.get(kind="command.finding_overdue")
    assert alert.jurisdiction_path == tree["grid_a"].path
    finding = Finding.objects.get()
    assert alert.object_id == str(finding.pk)
