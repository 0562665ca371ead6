"""Resumption services: the approval flow and its refusals, the workforce and its measures."""

import datetime as dt
import io

import pytest

from fangkong.audit.models import AuditEntry
from fangkong.common import errors
from fangkong.control.models import ControlOrder
from fangkong.people.tests.factories import PersonFactory
from fangkong.resumption import services
from fangkong.resumption.models import Application, Worker


def test_officer_files_and_district_approves(org, plan):
    application = services.application_submit(
        actor=org["officer"], organisation=org["factory"], **plan
    )
    assert (application.status, application.jpath) == ("pending", org["factory"].jpath)
    approved = services.application_approve(actor=org["hq"], application=application)
    assert approved.status == "approved" and approved.decided_by == org["hq"]
    assert AuditEntry.objects.filter(
        object_type="resumption.application", object_id=str(application.pk), action="update"
    ).exists()


def test_approving_twice_and_returning_an_approved_one_are_refused(org, plan):
    application = services.application_submit(
        actor=org["officer"], organisation=org["factory"], **plan
    )
    services.application_approve(actor=org["hq"], application=application)
    with pytest.raises(errors.Conflict) as twice:
        services.application_approve(actor=org["hq"], application=application)
    assert twice.value.code == "already_approved"
    with pytest.raises(errors.Conflict) as back:
        services.application_return(actor=org["hq"], application=application, reason="材料不全")
    assert back.value.code == "already_approved"


def test_returning_needs_a_reason_and_a_returned_one_is_filed_anew(org, plan):
    application = services.application_submit(
        actor=org["officer"], organisation=org["factory"], **plan
    )
    with pytest.raises(errors.Invalid) as blank:
        services.application_return(actor=org["hq"], application=application, reason="  ")
    assert blank.value.code == "reason_required"
    returned = services.application_return(
        actor=org["hq"], application=application, reason="食堂未落实错峰就餐"
    )
    assert (returned.status, returned.reason) == ("returned", "食堂未落实错峰就餐")
    with pytest.raises(errors.Conflict) as again:
        services.application_approve(actor=org["hq"], application=returned)
    assert again.value.code == "already_returned"
    revised = services.application_submit(
        actor=org["officer"], organisation=org["factory"], **(plan | {"canteen": "分三批就餐"})
    )
    assert revised.status == "pending"
    assert Application.objects.filter(organisation=org["factory"]).count() == 2


def test_one_live_application_per_organisation(org, plan):
    services.application_submit(actor=org["officer"], organisation=org["factory"], **plan)
    with pytest.raises(errors.Conflict) as second:
        services.application_submit(actor=org["officer"], organisation=org["factory"], **plan)
    assert second.value.code == "application_open"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"nonlocal_staff": 121}, "nonlocal_exceeds_staff"),
        ({"staff_count": 0, "nonlocal_staff": 0}, "staff_required"),
        ({"duty_officer": " "}, "plan_incomplete"),
        ({"canteen": ""}, "plan_incomplete"),
    ],
)
def test_an_incomplete_plan_is_refused_with_its_code(org, plan, change, code):
    with pytest.raises(errors.Invalid) as refused:
        services.application_submit(
            actor=org["officer"], organisation=org["factory"], **(plan | change)
        )
    assert refused.value.code == code


def test_who_may_file_and_decide(org, plan):
    # An officer files only for an organisation they are bound to: the school is not theirs.
    with pytest.raises(errors.NotFound):
        services.application_submit(actor=org["officer"], organisation=org["school"], **plan)
    # HQ staff do not file; officers do not decide; the other district's HQ sees nothing here.
    with pytest.raises(errors.Forbidden):
        services.application_submit(actor=org["hq"], organisation=org["factory"], **plan)
    application = services.application_submit(
        actor=org["officer"], organisation=org["factory"], **plan
    )
    with pytest.raises(errors.Forbidden):
        services.application_approve(actor=org["officer"], application=application)
    with pytest.raises(errors.NotFound):
        services.application_approve(actor=org["hq2"], application=application)


def test_organisation_refusals(org, tree, make_user):
    with pytest.raises(errors.Invalid) as no_enterprise:
        services.organisation_register(actor=org["hq"], kind="enterprise")
    assert no_enterprise.value.code == "enterprise_required"
    with pytest.raises(errors.Conflict) as again:
        services.organisation_register(
            actor=org["hq"], kind="school", code="S-XW1", name="x", jurisdiction=tree["district"]
        )
    assert again.value.code == "organisation_exists"
    with pytest.raises(errors.Invalid) as not_officer:
        services.organisation_officer_add(
            actor=org["hq"], organisation=org["school"], user=make_user(role="grid_worker")
        )
    assert not_officer.value.code == "not_an_officer"
    with pytest.raises(errors.Invalid) as elsewhere:
        services.organisation_officer_add(
            actor=org["hq"], organisation=org["school"], user=org["officer2"]
        )
    assert elsewhere.value.code == "outside_officer_node"


def test_a_worker_from_a_high_risk_area_gets_the_policys_measure(org, tree):
    # The ed. 9 preset (the default) puts risk-area arrivals under home isolation.
    person = PersonFactory(grid=tree["grid_a"])
    worker = services.worker_register(
        actor=org["officer"],
        organisation=org["factory"],
        document_number=person.document_number,
        name=person.name,
        origin="320104001001G01",  # a grid inside the high-risk district 320104
        arrival_date=dt.date.today(),
    )
    assert (worker.person, worker.risk_area, worker.risk_level) == (person, org["area"], "high")
    order = ControlOrder.objects.get(person=person, status="open")
    assert worker.order == order
    assert (order.category, order.measure, order.source) == (
        "risk_area_high",
        "centralized",
        "玄武口罩厂",
    )


def test_a_worker_from_a_clean_place_gets_no_order(org, tree):
    person = PersonFactory(grid=tree["grid_a"])
    worker = services.worker_register(
        actor=org["officer"],
        organisation=org["factory"],
        document_number=person.document_number,
        name=person.name,
        origin="江苏省苏州市",
        arrival_date=dt.date.today(),
        kind="staff",
    )
    assert (worker.risk_area, worker.order) == (None, None)
    assert not ControlOrder.objects.filter(person=person).exists()
    with pytest.raises(errors.Conflict) as twice:
        services.worker_register(
            actor=org["officer"],
            organisation=org["factory"],
            document_number=person.document_number,
            name=person.name,
            origin="江苏省苏州市",
            arrival_date=dt.date.today(),
        )
    assert twice.value.code == "worker_exists"


def test_a_risk_arrival_not_in_the_registry_is_refused(org):
    with pytest.raises(errors.Invalid) as refused:
        services.worker_register(
            actor=org["officer"],
            organisation=org["factory"],
            document_number="110101199003074477",
            name="外地员工",
            origin="320104",
            arrival_date=dt.date.today(),
        )
    assert refused.value.code == "person_not_registered"
    assert not Worker.objects.exists()


def test_workers_import_reports_bad_rows_keeps_good_ones_and_is_idempotent(org, tree):
    clean, risky = PersonFactory(grid=tree["grid_a"]), PersonFactory(grid=tree["grid_b"])
    rows = (
        "身份证号,姓名,来源地,返回日期,类别,手机号\n"
        f"{clean.document_number},{clean.name},江苏省苏州市,2026-12-01,员工,13800000001\n"
        f"{risky.document_number},{risky.name},320104,2026-12-02,学生,\n"
        f"{clean.document_number},{clean.name},江苏省苏州市,2026-12-01,员工,\n"
        ",无证件,南京,2026-12-01,员工,\n"
        "110101199003074477,外地员工,320104,2026-12-03,员工,\n"
        f"{PersonFactory(grid=tree['grid_a']).document_number},某人,南京,12/01,工人,\n"
    )

    def run():
        return services.workers_import(
            actor=org["officer"],
            organisation=org["factory"],
            source=io.BytesIO(rows.encode()),
            filename="workers.csv",
        )

    job = run()
    assert (job.status, job.created, job.rejected, job.total_rows) == ("done", 2, 4, 6)
    reasons = {(e["line"], e["column"]) for e in job.errors}
    assert reasons == {
        (4, "id_number"),  # the same person as line 2
        (5, "id_number"),
        (6, "origin"),  # from a risk area and not in the registry
        (7, "arrival_date"),
        (7, "kind"),
    }
    by_number = {w.document_number: w for w in Worker.objects.all()}
    assert by_number[risky.document_number].kind == "student"
    assert by_number[risky.document_number].order.measure == "centralized"
    assert by_number[clean.document_number].order is None
    again = run()
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 2, 4)
    assert ControlOrder.objects.filter(person=risky).count() == 1


def test_workers_import_is_a_fixed_number_of_queries(org, tree, django_assert_max_num_queries):
    people = [PersonFactory(grid=tree["grid_a"]) for _ in range(40)]
    body = "id_number,name,origin,arrival_date\n" + "".join(
        f"{p.document_number},{p.name},江苏省苏州市,2026-12-01\n" for p in people
    )
    with django_assert_max_num_queries(20):
        job = services.workers_import(
            actor=org["officer"],
            organisation=org["factory"],
            source=io.BytesIO(body.encode()),
            filename="w.csv",
        )
    assert job.created == 40


def test_the_import_command(org, tree, tmp_path):
    from django.core.management import call_command

    person = PersonFactory(grid=tree["grid_a"])
    path = tmp_path / "w.csv"
    path.write_text(
        f"id_number,name,origin,arrival_date\n{person.document_number},{person.name},南京,2026-12-01\n"
        ",缺证件,南京,2026-12-01\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command("resumption", "import-workers", "--organisation", "E-XW1", str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "done: 1 registered, 0 updated, 0 unchanged, 1 rejected"
    assert lines[1].startswith("line 3, id_number:")
