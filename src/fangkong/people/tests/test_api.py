"""Population endpoints: scope per endpoint, masking, audited reveal, import and export."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from fangkong.audit.models import AuditEntry
from fangkong.people.models import Person


@pytest.fixture
def api(make_user):
    def client_for(role="grid_worker", node="grid_a", **kwargs):
        user = make_user(role=role, node=node, **kwargs)
        client = APIClient()
        client.force_authenticate(user)
        client.user = user
        return client

    return client_for


def test_list_shows_only_own_grid_masked(api, people):
    response = api().get("/api/v1/people/")
    rows = response.json()["results"]
    assert len(rows) == 3
    assert {row["id"] for row in rows} == {p.pk for p in people["a"]}
    first = next(p for p in people["a"] if p.pk == rows[0]["id"])
    assert (
        rows[0]["document_number"]
        == first.document_number[0] + "*" * 16 + first.document_number[-1]
    )
    assert rows[0]["phone"] == first.phone[:3] + "******" + first.phone[-2:]
    assert rows[0]["grid_code"] == "320102001001G01"


def test_person_outside_subtree_is_404_everywhere(api, people):
    client = api()
    other = people["b"][0]
    assert client.get(f"/api/v1/people/{other.pk}/").status_code == 404
    assert client.post(f"/api/v1/people/{other.pk}/reveal/").status_code == 404
    assert len(client.get("/api/v1/people/", {"q": other.name}).json()["results"]) == 0
    assert len(client.get("/api/v1/people/", {"q": other.document_number}).json()["results"]) == 0
    assert AuditEntry.objects.get(action="view_pii").changes["results"] == []
    assert client.get("/api/v1/people/", {"jurisdiction": "320102001001G02"}).status_code == 404
    assert client.get("/api/v1/people/abc/").status_code == 404


def test_search_by_name_id_phone(api, people):
    client = api(role="epidemiologist", node="city")
    target = people["c"][0]
    for q in (target.name, target.document_number, target.phone):
        ids = [row["id"] for row in client.get("/api/v1/people/", {"q": q}).json()["results"]]
        assert ids == [target.pk], q
    district = client.get("/api/v1/people/", {"jurisdiction": "320102"}).json()
    assert len(district["results"]) == 5


def test_reveal_is_audited_for_pii_roles(api, people):
    client = api()
    person = people["a"][0]
    response = client.post(f"/api/v1/people/{person.pk}/reveal/", REMOTE_ADDR="10.1.2.3")
    assert response.json() == {"document_number": person.document_number, "phone": person.phone}
    entry = AuditEntry.objects.get(action="view_pii")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        client.user.pk,
        "people.person",
        str(person.pk),
    )
    assert entry.ip == "10.1.2.3"
    assert entry.jurisdiction_path == person.jpath


def test_reveal_refused_for_roles_without_pii(api, people):
    client = api(role="commander", node="city")
    assert client.post(f"/api/v1/people/{people['a'][0].pk}/reveal/").status_code == 403
    assert not AuditEntry.objects.filter(action="view_pii").exists()


def test_export_is_scoped_and_masked_by_role(api, people):
    grid_worker = api()
    body = grid_worker.get("/api/v1/people/export/").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted(r["id_number"] for r in rows) == sorted(p.document_number for p in people["a"])
    commander = api(role="commander", node="city")
    rows = list(
        csv.DictReader(
            io.StringIO(commander.get("/api/v1/people/export/").content.decode("utf-8-sig"))
        )
    )
    assert len(rows) == 6
    assert all("*" in r["id_number"] for r in rows)
    assert AuditEntry.objects.filter(action="export").count() == 2


def test_list_query_count(api, people, django_assert_max_num_queries):
    client = api(role="commander", node="province")
    with django_assert_max_num_queries(4):
        assert len(client.get("/api/v1/people/").json()["results"]) == 6


def test_import_through_api_reports_rows_outside_scope(api, people, tree):
    import datetime as dt

    from fangkong.people import idnumber

    client = api()
    good = idnumber.make("320102", dt.date(1990, 5, 6), 11)
    other = idnumber.make("320102", dt.date(1991, 5, 6), 13)
    content = (
        "id_number,name,grid_code,phone\n"
        f"{good},李四,320102001001G01,13900000001\n"
        f"{other},王五,320102001001G02,13900000002\n"
    ).encode()
    response = client.post(
        "/api/v1/people/import/", {"file": SimpleUploadedFile("p.csv", content)}, format="multipart"
    )
    assert response.status_code == 201
    job = response.json()
    assert (job["created"], job["rejected"]) == (1, 1)
    assert job["errors"][0]["line"] == 3
    assert Person.objects.filter(document_number=good, grid=tree["grid_a"]).exists()
    assert not Person.objects.filter(document_number=other).exists()

    assert client.get(f"/api/v1/imports/{job['id']}/").status_code == 200
    rejected = client.get(f"/api/v1/imports/{job['id']}/rejected/").content.decode("utf-8-sig")
    assert other in rejected and good not in rejected
    # Another grid's worker never sees this job.
    neighbour = api(node="grid_b")
    assert neighbour.get(f"/api/v1/imports/{job['id']}/").status_code == 404
    assert neighbour.get(f"/api/v1/imports/{job['id']}/rejected/").status_code == 404
    assert neighbour.get("/api/v1/imports/").json()["count"] == 0


def test_import_refused_for_roles_without_it(api, tree):
    client = api(role="lab_staff", node="city")
    upload = SimpleUploadedFile("p.csv", b"id_number,name,grid_code\n")
    assert (
        client.post("/api/v1/people/import/", {"file": upload}, format="multipart").status_code
        == 403
    )


def test_unreadable_file_is_a_400_with_the_reason(api, tree):
    client = api()
    upload = SimpleUploadedFile("p.csv", b"name,phone\n\xe5\xbc\xa0,1\n")
    response = client.post("/api/v1/people/import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["status"] == "failed"
    assert "id_number" in response.json()["message"]


def test_with_redis_the_upload_is_recorded_then_queued_for_a_worker(
    api, tree, settings, tmp_path, django_capture_on_commit_callbacks
):
    redis = pytest.importorskip("redis")
    settings.REDIS_URL = "redis://127.0.0.1:6379/14"
    settings.JOB_QUEUE = f"test-people-{tmp_path.name}"
    settings.MEDIA_ROOT = tmp_path
    connection = redis.Redis.from_url(settings.REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    import datetime as dt

    from fangkong.common import jobs
    from fangkong.common.models import ImportJob
    from fangkong.people import idnumber

    client = api()
    number = idnumber.make("320102", dt.date(1979, 9, 9), 41)
    content = f"id_number,name,grid_code\n{number},孙七,320102001001G01\n".encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/people/import/",
            {"file": SimpleUploadedFile("q.csv", content)},
            format="multipart",
        )
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["url"].endswith(f"/api/v1/imports/{body['id']}/")
    job = ImportJob.objects.get(pk=body["id"])
    assert (job.status, job.filename, job.actor_id) == ("queued", "q.csv", client.user.pk)
    assert len(list(tmp_path.glob("imports/*"))) == 1
    assert client.get(body["url"]).json()["status"] == "queued"
    try:
        assert jobs.work(burst=True, fork=False) == 1
    finally:
        connection.delete(f"rq:queue:{settings.JOB_QUEUE}")
    job.refresh_from_db()
    assert (job.status, job.created, job.attempts) == ("done", 1, 1)
    assert Person.objects.filter(document_number=number).exists()
    assert list(tmp_path.glob("imports/*")) == []
    assert client.get(body["url"]).json()["created"] == 1


def test_birth_date_only_for_pii_roles_band_for_others(api, people):
    """Issue 11 point 3: the birth date beside the masked ID gave the number back."""
    person = people["a"][0]
    age = (client := api(role="commander", node="city")).get(f"/api/v1/people/{person.pk}/").json()
    band = age["age_band"]
    assert (age["birth_date"], age["age"]) == (None, None)
    low = int(band.split("-")[0])
    assert band == f"{low}-{low + 9}" and low % 10 == 0
    assert person.document_number[1:-1] not in str(client.get("/api/v1/people/").json())
    full = api(role="grid_worker").get(f"/api/v1/people/{person.pk}/").json()
    assert full["birth_date"] == person.birth_date.isoformat()
    assert low <= full["age"] <= low + 9 and full["age_band"] == band


def test_exact_number_search_is_refused_without_pii_right(api, people):
    """Issue 11 point 3: q=<full ID or phone> confirmed a guess for any role, unaudited."""
    commander = api(role="commander", node="city")
    target = people["c"][0]
    for q in (target.document_number, target.phone, "320102199001011234"):
        r = commander.get("/api/v1/people/", {"q": q})
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), q
    assert len(commander.get("/api/v1/people/", {"q": target.name}).json()["results"]) == 1
    assert not AuditEntry.objects.filter(action="view_pii").exists()


def test_exact_number_search_by_pii_role_is_audited(api, people):
    client = api(role="epidemiologist", node="city")
    target = people["c"][0]
    body = client.get("/api/v1/people/", {"q": target.document_number}).json()
    assert [row["id"] for row in body["results"]] == [target.pk]
    client.get("/api/v1/people/", {"q": "13800000000"})
    entries = list(AuditEntry.objects.filter(action="view_pii").order_by("id"))
    assert [(e.actor_id, e.changes["lookup"], e.changes["results"]) for e in entries] == [
        (client.user.pk, "document_number", [target.pk]),
        (client.user.pk, "phone", []),
    ]
    assert (
        entries[0].changes["number"]
        == target.document_number[0] + "*" * 16 + target.document_number[-1]
    )
    assert target.document_number not in str(entries[0].changes)
