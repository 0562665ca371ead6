"""Pages of tracing through the Django test client, in Chinese by default, scoped."""

import datetime as dt

import pytest

from fangkong.tracing import services
from fangkong.tracing.models import Activity, Contact, LeadState

from .factories import at, open_case


@pytest.fixture
def world(people):
    case_a = open_case(
        people["a"][0], onset_date=dt.date(2022, 4, 10), reported_at=at("2022-04-12")
    )
    case_c = open_case(people["c"][0], reported_at=at("2022-04-12", 13))
    services.exposure_add(actor=None, case=case_c, setting="venue", source_case=case_a)
    lead = services.contact_add(
        actor=None,
        person=people["a"][1],
        source_case=case_a,
        setting="household",
        last_exposure_at=at("2022-04-11"),
    )
    return {"case_a": case_a, "case_c": case_c, "lead": lead, **people}


def login(client, make_user, role="epidemiologist", node="city"):
    user = make_user(role=role, node=node)
    client.force_login(user)
    return user


def test_pages_render_in_chinese(client, make_user, world):
    login(client, make_user)
    cases = client.get("/tracing/")
    text = cases.content.decode()
    assert "病例" in text and world["case_a"].code in text and "/analytics/plotly-" in text
    case = client.get(f"/tracing/cases/{world['case_a'].pk}/").content.decode()
    assert "活动轨迹" in case and world["lead"].person.name in case
    chains = client.get("/tracing/chains/").content.decode()
    assert "传播链" in chains and 'id="network"' in chains
    assert client.get("/tracing/chains/export.csv").content.decode().count("\n") == 3
    assert client.get(f"/tracing/chains/{world['case_a'].pk}/").status_code == 200
    assert client.get("/tracing/colocation/").status_code == 200


def test_investigation_form_adds_an_activity_and_reclassifies(client, make_user, world):
    login(client, make_user)
    url = f"/tracing/cases/{world['case_c'].pk}/investigate/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "part": "activity",
            "a-setting": "venue",
            "a-place": "新街口德基广场",
            "a-start": "2022-04-11T14:00",
            "a-public": "on",
        },
    )
    assert response.status_code == 302
    assert Activity.objects.get(case=world["case_c"]).public is True
    refused = client.post(url, {"part": "class", "c-classification": "excluded", "c-note": "x"})
    assert "不能从“确诊病例”订正" in refused.content.decode()
    client.post(url, {"part": "severity", "s-severity": "severe"})
    world["case_c"].refresh_from_db()
    assert world["case_c"].severity == "severe"
    client.post(
        url,
        {
            "part": "contact",
            "k-id_number": world["b"][0].document_number,
            "k-kind": "close",
            "k-setting": "venue",
            "k-last_exposure_at": "2022-04-11T15:00",
        },
    )
    assert Contact.objects.get(person=world["b"][0]).state == LeadState.PUSHED


def test_grid_worker_worklist_on_the_phone(client, make_user, world):
    login(client, make_user, role="grid_worker", node="grid_a")
    page = client.get("/tracing/leads/").content.decode()
    assert world["lead"].person.name in page and "核实" in page
    client.post("/tracing/leads/", {"contact": world["lead"].pk, "do": "verify"})
    world["lead"].refresh_from_db()
    assert world["lead"].state == LeadState.VERIFIED
    client.post(
        "/tracing/leads/", {"contact": world["lead"].pk, "do": "exclude", "reason": "当时在外地"}
    )
    world["lead"].refresh_from_db()
    assert (world["lead"].state, world["lead"].excluded_reason) == (
        LeadState.EXCLUDED,
        "当时在外地",
    )


def test_scope_on_pages(client, make_user, world):
    login(client, make_user, role="grid_worker", node="grid_b")
    assert world["lead"].person.name not in client.get("/tracing/leads/").content.decode()
    assert (
        client.post("/tracing/leads/", {"contact": world["lead"].pk, "do": "verify"}).status_code
        == 404
    )
    assert client.get(f"/tracing/cases/{world['case_a'].pk}/").status_code == 404
    login(client, make_user, role="epidemiologist", node="district2")
    assert client.get(f"/tracing/cases/{world['case_a'].pk}/investigate/").status_code == 404
    assert world["case_a"].code not in client.get("/tracing/").content.decode()


def test_colocation_page_runs_an_upload_to_pushed_leads(
    client, make_user, world, settings, tmp_path, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fangkong.tracing.models import ColocationRun

    settings.MEDIA_ROOT = str(tmp_path)
    login(client, make_user)
    case = world["case_a"]
    services.case_times_set(actor=None, case=case, isolated_at=at("2022-04-12", 20))
    data = (
        "person_id,venue_id,scanned_at\n"
        f"{case.person_id},V9,2022-04-11 10:00:00\n"
        f"{world['b'][1].pk},V9,2022-04-11 10:25:00\n"
    ).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/tracing/colocation/",
            {"rule": "venue", "cases": case.code, "upload": SimpleUploadedFile("scans.csv", data)},
        )
    run = ColocationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tracing/colocation/{run.pk}/"
    partial = client.get(f"/tracing/colocation/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'value="100"' in partial and "hx-trigger" not in partial and "完成" in partial
    assert Contact.objects.get(person=world["b"][1]).state == LeadState.PUSHED
    assert client.get(f"/tracing/colocation/{run.pk}/result.csv").status_code == 200
    refused = client.post("/tracing/colocation/", {"rule": "cell", "cases": "NO-SUCH"})
    assert "请上传文件" in refused.content.decode()


def test_contact_by_number_outside_the_subtree_answers_alike(client, make_user, world):
    """Issue 11 point 1 on the page: "no person with this ID number" vs "saved" told who exists."""
    from fangkong.people.tests.factories import PersonFactory

    login(client, make_user, node="district")
    url = f"/tracing/cases/{world['case_a'].pk}/investigate/"
    qinhuai = PersonFactory(grid=world["c"][0].grid)
    answers = []
    for number in (qinhuai.document_number, "110101199001011234"):
        post = {
            "part": "contact",
            "k-id_number": number,
            "k-kind": "close",
            "k-setting": "venue",
            "k-last_exposure_at": "2022-04-11T15:00",
        }
        page = client.post(url, post, follow=True).content.decode()
        answers.append("已转交此号码人员所在网格（如已登记）" in page and qinhuai.name not in page)
    assert answers == [True, True]
    assert Contact.objects.get(person=qinhuai).state == LeadState.PUSHED
