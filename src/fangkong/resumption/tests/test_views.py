"""Pages: the officer files, HQ approves or returns with reasons, the workforce page (masked,
import with the bad rows listed), status per district, readiness with one-click dispatch."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.command.models import Task
from fangkong.people.tests.factories import PersonFactory
from fangkong.resumption import services
from fangkong.resumption.models import Application, Worker


def test_officer_files_through_the_page_and_hq_returns_then_approves(client, org, plan):
    client.force_login(org["officer"])
    form = client.get("/resumption/apply/").content.decode()
    assert "玄武口罩厂" in form and "玄武中学" not in form
    posted = client.post(
        "/resumption/apply/",
        {**plan, "resume_on": "2026-12-10", "organisation": org["factory"].pk},
    )
    application = Application.objects.get()
    assert posted.status_code == 302 and posted["Location"].endswith(f"/{application.pk}/")
    client.force_login(org["hq"])
    page = client.get(f"/resumption/applications/{application.pk}/").content.decode()
    assert "错峰分餐" in page and 'value="approve"' in page and "13912345678" not in page
    url = f"/resumption/applications/{application.pk}/decide/"
    client.post(url, {"decision": "return", "reason": ""})
    application.refresh_from_db()
    assert application.status == "pending"  # refused: no reason given
    client.post(url, {"decision": "return", "reason": "外地员工返岗前未安排核酸检测"})
    application.refresh_from_db()
    assert (application.status, application.reason) == ("returned", "外地员工返岗前未安排核酸检测")
    client.force_login(org["officer"])
    client.post(
        "/resumption/apply/",
        {**plan, "resume_on": "2026-12-12", "organisation": org["factory"].pk},
    )
    revised = Application.objects.get(status="pending")
    client.force_login(org["hq"])
    client.post(f"/resumption/applications/{revised.pk}/decide/", {"decision": "approve"})
    revised.refresh_from_db()
    assert revised.status == "approved"


def test_the_other_districts_pages_are_404(client, org, plan):
    theirs = services.application_submit(actor=org["officer2"], organisation=org["other"], **plan)
    client.force_login(org["hq"])
    assert client.get(f"/resumption/applications/{theirs.pk}/").status_code == 404
    assert client.get(f"/resumption/organisations/{org['other'].pk}/").status_code == 404
    assert (
        client.post(
            f"/resumption/applications/{theirs.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 404
    )
    overview = client.get("/resumption/").content.decode()
    assert "秦淮小学" not in overview and "玄武中学" in overview


def test_overview_shows_status_per_district(client, org, plan, tree):
    application = services.application_submit(
        actor=org["officer"], organisation=org["factory"], **plan
    )
    services.application_approve(actor=org["hq"], application=application)
    person = PersonFactory(grid=tree["grid_a"])
    services.worker_register(
        actor=org["officer"],
        organisation=org["factory"],
        document_number=person.document_number,
        name=person.name,
        origin="320104",
        arrival_date=dt.date.today(),
    )
    client.force_login(org["commander"])
    page = client.get("/resumption/").content.decode()
    row = page.split('data-district="320102"')[1].split("</tr>")[0]
    cells = [c.split("<")[0] for c in row.split('<td class="num">')[1:]]
    assert cells == ["1", "1", "0", "0", "1", "1", "1", "1"]


def test_workforce_page_masks_and_imports(client, org, tree):
    person = PersonFactory(grid=tree["grid_a"], phone="13811112222")
    services.worker_register(
        actor=org["officer"],
        organisation=org["factory"],
        document_number=person.document_number,
        name=person.name,
        phone="13811112222",
        origin="江苏省苏州市",
        arrival_date=dt.date.today(),
    )
    client.force_login(org["officer"])
    url = f"/resumption/organisations/{org['factory'].pk}/"
    page = client.get(url).content.decode()
    assert person.name in page
    assert person.document_number not in page and "13811112222" not in page
    other = PersonFactory(grid=tree["grid_b"])
    csv = (
        "id_number,name,origin,arrival_date,kind\n"
        f"{other.document_number},{other.name},320104,2026-12-01,学生\n"
        ",无名,南京,2026-12-01,员工\n"
    )
    answer = client.post(url, {"file": SimpleUploadedFile("w.csv", csv.encode())})
    text = answer.content.decode()
    assert answer.status_code == 200 and 'id="import-result"' in text
    assert Worker.objects.filter(document_number=other.document_number).get().order is not None
    report = text.split('id="import-result"')[1].split("</div>")[0]
    # The line without an ID number, with its column and reason (the page is in Chinese).
    assert "第 3 行，id_number：此列必填" in report and "新登记 1 人" in report


def test_readiness_page_lists_gaps_and_dispatches_one(client, tree, make_user):
    tree["district"].population = 50_000
    tree["district"].save(update_fields=["population"])
    client.force_login(make_user(role="hq_staff", node="district"))
    page = client.get("/resumption/readiness/").content.decode()
    assert 'data-key="isolation.rooms" class="gap"' in page
    assert page.count('name="key"') >= 5
    answer = client.post(
        "/resumption/readiness/dispatch/", {"node": "320102", "key": "isolation.rooms"}
    )
    assert answer.status_code == 302
    task = Task.objects.get()
    assert task.assignee_node == tree["district"]
    page = client.get("/resumption/readiness/").content.decode()
    assert f"/command/tasks/{task.pk}/" in page
    assert client.get("/resumption/readiness/", {"node": "320104"}).status_code == 404
    tasks_page = client.get("/command/").content.decode()
    assert task.title in tasks_page


def test_pages_refuse_roles_without_the_right(client, make_user, tree):
    client.force_login(make_user(role="grid_worker"))
    assert client.get("/resumption/readiness/").status_code == 403
    assert client.get("/resumption/").status_code == 403
    assert client.get("/resumption/apply/").status_code == 403
