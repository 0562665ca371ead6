"""One import lifecycle: every importer's bad rows come back the same way, masked by role, scoped and
audited; stored errors are capped; a job never stops half-way losing the good rows after it."""

import csv
import datetime as dt
import io
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DataError
from django.utils import translation
from rest_framework.test import APIClient

from fangkong.accounts.tests.factories import UserFactory
from fangkong.audit.models import AuditEntry
from fangkong.command import services as command_services
from fangkong.common import imports
from fangkong.common.masking import mask_id_number, mask_phone
from fangkong.common.models import ImportJob
from fangkong.geo.bulk import geo_import
from fangkong.people import idnumber
from fangkong.people import services as people_services
from fangkong.people.models import Person
from fangkong.people.tests.factories import PersonFactory
from fangkong.testing import bulk
from fangkong.testing import services as testing_services

GRID_A = "320102001001G01"
NO_PII_ROLES = ["supply_officer", "inspector", "auditor", "lab_staff", "commander"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    # Reasons are translated when read: these readers chose English, as the imports ran in it.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def at_city(tree):
    def make(role: str = "epidemiologist", **kwargs):
        return UserFactory(role=role, jurisdiction=tree["city"], **kwargs)

    return make


def number(sequence: int, region: str = "320102") -> str:
    return idnumber.make(region, dt.date(1990, 5, 6), sequence)


def bad_check_digit(sequence: int) -> str:
    good = number(sequence)
    return good[:-1] + ("0" if good[-1] != "0" else "1")


def rejected_csv(client, job_id) -> list[list[str]]:
    response = client.get(f"/api/v1/imports/{job_id}/rejected/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


# --- one file with bad rows per importer -----------------------------------------------------


def run(service, actor, *lines, **kwargs):
    content = "".join(f"{line}\n" for line in lines).encode()
    return service(actor=actor, source=io.BytesIO(content), filename="f.csv", **kwargs)


def people_job(tree, actor):
    header = "id_number,name,grid_code,phone"
    good = f"{number(11)},李四,{GRID_A},13900000001"
    bad = f"{bad_check_digit(12)},王五,{GRID_A},13900000002"
    job = run(people_services.people_import, actor, header, good, bad)
    return job, [(3, "id_number: check digit does not match")]


def geo_job(tree, actor):
    rows = ["320102002,320102,street,新街口街道", "320102003,NOPE,street,孤儿街道"]
    job = run(geo_import, actor, "code,parent_code,level,name", *rows)
    return job, [(3, "parent_code: parent NOPE is neither in the file nor in the database")]


def risk_job(tree, actor):
    header = "province,city,district,area_name,level,since"
    rows = [
        "上海市,上海市,浦东新区,陆家嘴街道,high,2022-04-01",
        "北京市,北京市,朝阳区,望京街道,严重,2022-04-01",
    ]
    job = run(command_services.risk_areas_import, actor, header, *rows)
    return job, [(3, "level: unknown risk level")]


def make_round(tree):
    return testing_services.round_create(
        actor=None, code="R1", name="第一轮", scope=[tree["district"]], pool_size=10
    )


def samples_job(tree, actor):
    resident = PersonFactory(grid=tree["grid_a"])
    content = (
        "tube_barcode,id_number,sampled_at,site_code\n"
        f"T001,{resident.document_number},2026-11-23 08:00:00,SITE1\n"
        f"T002,{number(99)},2026-11-23 08:00:00,SITE1\n"
    )
    job = bulk.import_samples(
        actor=actor, round_=make_round(tree), source=io.BytesIO(content.encode()), filename="s.csv"
    )
    return job, [(3, "id_number: nobody in the registry has this number")]


def results_job(tree, actor):
    samples_job(tree, None)  # the round's samples, by the operator: the lab may not import them
    content = (
        "tube_barcode,result,reported_at,lab_code\n"
        "T001,negative,2026-11-23 12:00:00,LAB1\n"
        "NOPE,negative,2026-11-23 12:00:00,LAB1\n"
    )
    job = bulk.import_results(actor=actor, source=io.BytesIO(content.encode()), filename="r.csv")
    return job, [(3, "tube_barcode: no such tube")]


IMPORTERS = {
    "people": (people_job, "hq_staff"),
    "geo": (geo_job, "hq_staff"),
    "command.risk_areas": (risk_job, "commander"),
    "testing_samples": (samples_job, "sampler"),
    "testing_results": (results_job, "lab_staff"),
}


@pytest.mark.parametrize("kind", list(IMPORTERS))
def test_every_importer_gives_a_rejected_rows_file_with_lines_and_reasons(kind, tree, at_city):
    make_job, role = IMPORTERS[kind]
    job, expected = make_job(tree, at_city(role))
    assert (job.kind, job.status, job.mode) == (kind, "done", "keep_good")
    assert (job.rejected, job.errors_truncated) == (1, False)
    assert job.rejected_rows[0]["line"] == expected[0][0]
    assert len(job.rejected_rows[0]["values"]) == len(job.header)

    client = client_of(at_city("epidemiologist"))
    detail = client.get(f"/api/v1/imports/{job.pk}/").json()
    assert [e["line"] for e in detail["errors"]] == [line for line, _r in expected]
    lines = rejected_csv(client, job.pk)
    assert lines[0] == [*job.header, "line", "error"]
    assert [(int(row[-2]), row[-1]) for row in lines[1:]] == expected


def test_testing_sample_file_with_one_bad_row_downloads_its_rejected_row(tree, at_city):
    """It was a 500 (KeyError: 'values'): the mass-testing importer stored rows its own way."""
    job, _expected = samples_job(tree, at_city("sampler"))
    response = client_of(at_city("epidemiologist")).get(f"/api/v1/imports/{job.pk}/rejected/")
    assert response.status_code == 200
    assert number(99) in response.content.decode("utf-8")


def test_rows_stored_in_the_old_mass_testing_shape_still_download(tree, at_city):
    job = ImportJob.objects.create(
        kind="testing_samples",
        filename="old.csv",
        jurisdiction_path=tree["district"].path,
        status="done",
        rejected=1,
        header=["tube_barcode", "id_number", "sampled_at", "site_code", "kind"],
        errors=[{"line": 3, "column": "id_number", "value": number(5), "reason": "nobody"}],
        rejected_rows=[{"line": 3, "raw": f"T9,{number(5)},x,S1,", "reason": "nobody"}],
    )
    lines = rejected_csv(client_of(at_city("lab_staff")), job.pk)
    assert lines[1] == ["T9", mask_id_number(number(5)), "x", "S1", "", "3", "id_number: nobody"]
    job.header = []
    job.save()
    lines = rejected_csv(client_of(at_city("lab_staff")), job.pk)
    assert lines[0] == ["column_1", "column_2", "column_3", "column_4", "column_5", "line", "error"]
    assert lines[1][1] == mask_id_number(number(5))


# --- masking, scope, audit -------------------------------------------------------------------


def pii_job(tree, actor):
    """Rows rejected for their grid, so the ID numbers and phones in them are valid ones."""
    content = (
        "身份证号,姓名,网格编码,手机号,备注\n"
        f"{number(21)},张三,NOPE,13900000021,紧急联系人 {number(22)} 13900000022\n"
        f'{number(23)},"=HYPERLINK(""http://x.example/"",""点我"")",NOPE,+8613900000023,\n'
    )
    return people_services.people_import(
        actor=actor, source=io.BytesIO(content.encode()), filename="pii.csv"
    )


# Whatever the masking looks like (common.masking decides), these cells get it.
masked_id = mask_id_number


@pytest.mark.parametrize("role", NO_PII_ROLES)
def test_roles_without_the_right_see_rejected_rows_masked(role, tree, at_city):
    job = pii_job(tree, at_city("hq_staff", working_group="tracing"))
    client = client_of(at_city(role))

    detail = client.get(f"/api/v1/imports/{job.pk}/").json()
    id_errors = [e for e in detail["errors"] if e["column"] == "grid_code"]
    assert len(id_errors) == 2
    lines = rejected_csv(client, job.pk)
    assert lines[1][:5] == [
        masked_id(number(21)),
        "张三",
        "NOPE",
        mask_phone("13900000021"),
        f"紧急联系人 {masked_id(number(22))} {mask_phone('13900000022')}",
    ]
    assert lines[2][3] == "'" + mask_phone("+8613900000023")
    text = json.dumps(detail, ensure_ascii=False) + repr(lines)
    for secret in (number(21), number(22), number(23), "13900000021", "13900000022"):
        assert secret not in text


def test_a_role_that_may_see_personal_data_gets_them_in_full(tree, at_city):
    job = pii_job(tree, at_city("hq_staff", working_group="tracing"))
    lines = rejected_csv(client_of(at_city("epidemiologist")), job.pk)
    assert lines[1][:4] == [number(21), "张三", "NOPE", "13900000021"]


def test_formula_cells_come_back_quoted(tree, at_city):
    job = pii_job(tree, at_city("hq_staff", working_group="tracing"))
    lines = rejected_csv(client_of(at_city("epidemiologist")), job.pk)
    assert lines[2][1] == '\'=HYPERLINK("http://x.example/","点我")'
    assert lines[2][3] == "'+8613900000023"


def test_a_job_outside_the_readers_subtree_does_not_exist(tree, client):
    job = pii_job(tree, UserFactory(role="hq_staff", jurisdiction=tree["district"]))
    outsider = UserFactory(role="epidemiologist", jurisdiction=tree["district2"])
    api = client_of(outsider)
    assert api.get(f"/api/v1/imports/{job.pk}/").status_code == 404
    assert api.get(f"/api/v1/imports/{job.pk}/rejected/").status_code == 404
    assert api.get("/api/v1/imports/").json()["count"] == 0
    client.force_login(outsider)
    assert client.get(f"/people/import/{job.pk}/rejected.csv").status_code == 404
    assert client.get(f"/people/import/{job.pk}/").status_code == 404
    assert not AuditEntry.objects.filter(object_type="common.importjob").exists()


def test_every_view_of_rejected_rows_is_one_audit_entry(tree, at_city, client):
    job = pii_job(tree, at_city("hq_staff", working_group="tracing"))
    reader = at_city("auditor")
    entries = AuditEntry.objects.filter(object_type="common.importjob", object_id=str(job.pk))

    client_of(reader).get(f"/api/v1/imports/{job.pk}/")
    rejected_csv(client_of(reader), job.pk)
    client.force_login(reader)
    page = client.get(f"/people/import/{job.pk}/rejected.csv")
    assert page.status_code == 200
    assert masked_id(number(21)) in page.content.decode("utf-8")
    assert client.get(f"/people/import/{job.pk}/").status_code == 200

    assert [(e.action, e.actor_id, e.changes["view"], e.changes["unmasked"]) for e in entries] == [
        ("view_pii", reader.pk, "errors", False),
        ("export", reader.pk, "rejected_csv", False),
        ("export", reader.pk, "rejected_csv", False),
        ("view_pii", reader.pk, "errors", False),
    ][::-1]
    assert entries[1].changes["rows"] == 2
    assert entries[1].jurisdiction_path == job.jurisdiction_path


def test_lab_staff_see_the_id_numbers_of_a_sample_file_masked(tree, at_city):
    job, _expected = samples_job(tree, at_city("sampler"))
    client = client_of(at_city("lab_staff"))
    assert client.get(f"/api/v1/imports/{job.pk}/").json()["errors"][0]["value"] == masked_id(
        number(99)
    )
    assert rejected_csv(client, job.pk)[1][1] == masked_id(number(99))


# --- the existence oracle --------------------------------------------------------------------


def test_a_number_registered_elsewhere_is_told_only_to_roles_that_may_see_it(tree, at_city):
    elsewhere = PersonFactory(grid=tree["grid_c"], name="秦淮居民", phone="13911112222")
    importer = UserFactory(role="hq_staff", working_group="supplies", jurisdiction=tree["district"])
    content = f"id_number,name,grid_code\n{elsewhere.document_number},冒名,{GRID_A}\n"
    job = people_services.people_import(
        actor=importer, source=io.BytesIO(content.encode()), filename="p.csv"
    )
    assert (job.created, job.rejected) == (0, 1)

    own_view = client_of(importer).get(f"/api/v1/imports/{job.pk}/").json()["errors"]
    assert own_view == [
        {
            "line": 2,
            "column": "id_number",
            "value": masked_id(elsewhere.document_number),
            "reason": "this person cannot be imported here",
        }
    ]
    assert "this person cannot be imported here" in rejected_csv(client_of(importer), job.pk)[1][-1]
    epidemiologist = client_of(at_city("epidemiologist"))
    full = epidemiologist.get(f"/api/v1/imports/{job.pk}/").json()["errors"]
    assert full[0]["reason"] == "person registered in another jurisdiction"
    # The job holds the file's row, nothing of the resident registered elsewhere.
    stored = json.dumps([job.errors, job.rejected_rows, job.message], ensure_ascii=False)
    assert "秦淮居民" not in stored and "13911112222" not in stored
    assert Person.objects.get(pk=elsewhere.pk).name == "秦淮居民"


# --- the cap on stored errors ----------------------------------------------------------------


def test_five_thousand_bad_rows_keep_a_small_list_and_a_capped_detail(tree, at_city, settings):
    settings.FANGKONG_IMPORT_MAX_STORED_ERRORS = 1000
    born = [dt.date(1990, 5, 6) + dt.timedelta(days=i // 900) for i in range(5000)]
    numbers = [idnumber.make("320102", day, i % 900) for i, day in enumerate(born)]
    rows = "".join(f"{n[:-1]}{'1' if n[-1] == '0' else '0'},某,{GRID_A}\n" for n in numbers)
    job = people_services.people_import(
        actor=at_city("hq_staff"),
        source=io.BytesIO(("id_number,name,grid_code\n" + rows).encode()),
        filename="bad.csv",
    )
    assert (job.total_rows, job.rejected, job.errors_truncated) == (5000, 5000, True)
    assert len(job.rejected_rows) == len(job.errors) == 1000
    assert [r["line"] for r in job.rejected_rows] == list(range(2, 1002))

    client = client_of(at_city("epidemiologist"))
    listing = client.get("/api/v1/imports/")
    assert listing.status_code == 200
    assert len(listing.content) < 2000
    (entry,) = listing.json()["results"]
    assert "errors" not in entry
    assert (entry["rejected"], entry["errors_truncated"], entry["mode"]) == (
        5000,
        True,
        "keep_good",
    )
    assert len(client.get(f"/api/v1/imports/{job.pk}/").json()["errors"]) == 1000
    assert len(rejected_csv(client, job.pk)) == 1001


def test_row_errors_keep_the_first_lines_whatever_order_they_come_in():
    errors = imports.RowErrors(limit=3)
    for line in [9, 2, 7, 5, 11, 3, 2, 8, 4]:
        errors.reject_one(line, [str(line)], "code", str(line), "bad")
    stored = errors.stored()
    assert (stored.count, stored.truncated) == (8, True)
    assert [row["line"] for row in stored.rows] == [2, 3, 4]
    assert [error["line"] for error in stored.errors] == [2, 2, 3, 4]


# --- keep the good rows, or write nothing ----------------------------------------------------


def resident_rows(n: int, start: int = 0) -> list[str]:
    return [f"{number(start + i)},居民{start + i},{GRID_A}\n" for i in range(n)]


def test_a_bad_line_half_way_rejects_that_line_and_keeps_the_rows_after_it(
    tree, at_city, monkeypatch
):
    """A job once said "failed" at line 6002 with 4,997 people written and the rest lost."""
    monkeypatch.setattr(people_services, "CHUNK_SIZE", 50)
    monkeypatch.setattr(imports, "_SNIFF_BYTES", 256)  # the odd bytes lie past the sniffed head
    rows = [row.encode() for row in resident_rows(120)]
    rows[60] = f"{number(500)},".encode() + b"\xff\xfe" + f",{GRID_A}\n".encode()
    content = b"id_number,name,grid_code\n" + b"".join(rows)
    job = people_services.people_import(
        actor=at_city("hq_staff"), source=io.BytesIO(content), filename="p.csv"
    )
    assert (job.status, job.total_rows, job.created, job.rejected) == ("done", 120, 119, 1)
    assert job.errors[0]["line"] == 62
    assert "cannot be decoded" in job.errors[0]["reason"]
    assert Person.objects.filter(name="居民119").exists()


def test_a_line_past_the_csv_field_limit_is_one_rejected_row(tree, at_city, monkeypatch):
    monkeypatch.setattr(people_services, "CHUNK_SIZE", 50)
    limit = csv.field_size_limit()
    csv.field_size_limit(1000)
    try:
        rows = resident_rows(120)
        rows[60] = f'{number(500)},"{"长" * 2000}",{GRID_A}\n'
        job = people_services.people_import(
            actor=at_city("hq_staff"),
            source=io.BytesIO(("id_number,name,grid_code\n" + "".join(rows)).encode()),
            filename="p.csv",
        )
    finally:
        csv.field_size_limit(limit)
    assert (job.status, job.created, job.rejected) == ("done", 119, 1)
    assert job.errors[0]["line"] == 62
    assert job.errors[0]["reason"].startswith("not valid CSV")


def test_a_row_the_database_refuses_is_rejected_alone(tree, at_city, monkeypatch):
    insert = people_services._insert

    def refusing(people, now):
        if any(person.name == "居民77" for person in people):
            raise DataError("value too long")
        insert(people, now)

    monkeypatch.setattr(people_services, "CHUNK_SIZE", 50)
    monkeypatch.setattr(people_services, "_insert", refusing)
    job = people_services.people_import(
        actor=at_city("hq_staff"),
        source=io.BytesIO(("id_number,name,grid_code\n" + "".join(resident_rows(120))).encode()),
        filename="p.csv",
    )
    assert (job.status, job.created, job.rejected) == ("done", 119, 1)
    assert job.errors[0]["line"] == 79
    assert not Person.objects.filter(name="居民77").exists()
    assert Person.objects.filter(name="居民119").exists()


def test_an_internal_error_fails_the_job_without_quoting_a_row(tree, at_city, monkeypatch):
    def broken(people, now):
        raise RuntimeError(f"duplicate key {people[0].document_number}")

    monkeypatch.setattr(people_services, "_insert", broken)
    with pytest.raises(RuntimeError):
        people_services.people_import(
            actor=at_city("hq_staff"),
            source=io.BytesIO(("id_number,name,grid_code\n" + resident_rows(1)[0]).encode()),
            filename="p.csv",
        )
    job = ImportJob.objects.get()
    assert (job.status, job.created) == ("failed", 0)
    assert job.message == "the import stopped at an internal error; nothing was written"


def test_all_or_nothing_writes_nothing_when_a_row_is_bad(tree, at_city, monkeypatch):
    monkeypatch.setattr(people_services, "CHUNK_SIZE", 50)
    rows = resident_rows(120)
    rows[100] = f"{bad_check_digit(7)},坏,{GRID_A}\n"
    content = ("id_number,name,grid_code\n" + "".join(rows)).encode()
    job = people_services.people_import(
        actor=at_city("hq_staff"),
        source=io.BytesIO(content),
        filename="p.csv",
        mode=ImportJob.Mode.ALL_OR_NOTHING,
    )
    assert (job.status, job.mode, job.created, job.rejected) == ("failed", "all_or_nothing", 0, 1)
    assert job.message == "1 rows were rejected, so nothing was written"
    assert Person.objects.count() == 0
    assert rejected_csv(client_of(at_city("epidemiologist")), job.pk)[1][-2] == "102"

    rows[100] = resident_rows(1, start=200)[0]
    good = people_services.people_import(
        actor=at_city("hq_staff"),
        source=io.BytesIO(("id_number,name,grid_code\n" + "".join(rows)).encode()),
        filename="p.csv",
        mode=ImportJob.Mode.ALL_OR_NOTHING,
    )
    assert (good.status, good.created) == ("done", 120)


def test_an_upload_answer_carries_its_errors_masked_for_the_uploader(tree):
    uploader = UserFactory(role="hq_staff", working_group="supplies", jurisdiction=tree["district"])
    content = f"id_number,name,grid_code\n{bad_check_digit(3)},某,{GRID_A}\n".encode()
    response = client_of(uploader).post(
        "/api/v1/people/import/",
        {"file": SimpleUploadedFile("p.csv", content)},
        format="multipart",
    )
    assert response.status_code == 201
    assert response.json()["errors"][0]["value"] == masked_id(bad_check_digit(3))


def test_the_report_page_says_in_chinese_what_was_kept_and_why(tree, client, settings):
    settings.FANGKONG_IMPORT_MAX_STORED_ERRORS = 1
    elsewhere = PersonFactory(grid=tree["grid_c"])
    importer = UserFactory(role="hq_staff", working_group="supplies", jurisdiction=tree["district"])
    content = (
        f"id_number,name,grid_code\n{elsewhere.document_number},某,{GRID_A}\n"
        f"{bad_check_digit(4)},某,{GRID_A}\n"
    )
    with translation.override("zh-hans"):
        job = people_services.people_import(
            actor=importer, source=io.BytesIO(content.encode()), filename="p.csv"
        )
    client.force_login(importer)
    page = client.get(f"/people/import/{job.pk}/").content.decode()
    assert "共拒绝 2 行；此处及下载文件只保留前 1 行。" in page
    assert "此人无法在此导入" in page and "此人已在其他辖区登记" not in page
    assert "保留正确行" in page
    assert elsewhere.document_number not in page


def test_the_migration_moves_old_mass_testing_rows_to_the_one_shape(tree):
    from importlib import import_module

    from django.apps import apps

    old = ImportJob.objects.create(
        kind="testing_results",
        filename="old.csv",
        rejected_rows=[{"line": 4, "raw": "T1,maybe,2026-11-23 12:00:00,LAB1,,", "reason": "x"}],
    )
    people = ImportJob.objects.create(
        kind="people", filename="p.csv", rejected_rows=[{"line": 2, "values": ["a"]}]
    )
    import_module("fangkong.common.migrations.0004_import_rows").forwards(apps, None)
    old.refresh_from_db()
    assert old.rejected_rows == [
        {"line": 4, "values": ["T1", "maybe", "2026-11-23 12:00:00", "LAB1", "", ""]}
    ]
    assert old.header == ["tube_barcode", "result", "reported_at", "lab_code", "ct_orf1ab", "ct_n"]
    people.refresh_from_db()
    assert people.rejected_rows == [{"line": 2, "values": ["a"]}]
