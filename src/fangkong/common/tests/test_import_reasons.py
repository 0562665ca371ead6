"""Rejection reasons are stored with their message id and parameters and translated when they are
read: a file imported by a Chinese-speaking user shows its reasons in English to an English reader
(and the other way round); jobs stored before, with the text alone, still show that text."""

import io

import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.test import APIClient

from fangkong.accounts.tests.factories import UserFactory
from fangkong.common import imports
from fangkong.common.models import ImportJob
from fangkong.people import services as people_services
from fangkong.people.tests.factories import PersonFactory

from .test_import_jobs import GRID_A, IMPORTERS, bad_check_digit, rejected_csv

# What each importer's bad row says, in English and in Chinese (the catalogs' entries).
SAID = {
    "people": ("check digit does not match", "校验位不正确"),
    "geo": (
        "parent NOPE is neither in the file nor in the database",
        "上级 NOPE 既不在文件中也不在系统中",
    ),
    "command.risk_areas": ("unknown risk level", "未知风险等级"),
    "testing_samples": ("nobody in the registry has this number", "人口库中没有此号码"),
    "testing_results": ("no such tube", "无此试管"),
}


def reader(tree, language: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(role="epidemiologist", jurisdiction=tree["city"]))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.mark.parametrize("kind", list(IMPORTERS))
def test_a_reason_is_read_in_the_readers_language_whatever_the_importers(kind, tree):
    make_job, role = IMPORTERS[kind]
    english, chinese = SAID[kind]
    with translation.override("zh-hans"):
        job, _expected = make_job(tree, UserFactory(role=role, jurisdiction=tree["city"]))
    stored = job.errors[0]
    assert stored["reason"] == chinese  # the text of the day, for older readers
    assert stored["reason_id"] != chinese  # and the catalog's key to translate it again
    for language, said in (("en", english), ("zh-hans", chinese)):
        detail = reader(tree, language).get(f"/api/v1/imports/{job.pk}/").json()
        assert [e["reason"] for e in detail["errors"]] == [said]
        assert rejected_csv(reader(tree, language), job.pk)[1][-1].endswith(said)


def test_parameters_and_the_detail_for_personal_data_roles_are_translated_too(tree):
    elsewhere = PersonFactory(grid=tree["grid_c"])
    importer = UserFactory(role="hq_staff", jurisdiction=tree["district"])
    content = (
        f"id_number,name,grid_code\n{elsewhere.document_number},某,{GRID_A}\n"
        f"{bad_check_digit(6)},{'长' * 61},{GRID_A}\n"
    )
    with translation.override("en"):
        job = people_services.people_import(
            actor=importer, source=io.BytesIO(content.encode()), filename="p.csv"
        )
    name_error = next(e for e in job.errors if e["column"] == "name")
    assert (name_error["reason"], name_error["reason_params"]) == (
        "name is longer than 60 characters",
        {"max": 60},
    )
    shown = reader(tree, "zh-hans").get(f"/api/v1/imports/{job.pk}/").json()["errors"]
    by_line = {(e["line"], e["column"]): e["reason"] for e in shown}
    assert by_line[(3, "name")] == "姓名超过 60 个字符"
    assert by_line[(2, "id_number")] == "此人已在其他辖区登记"  # the detail, to a PII role
    neutral = APIClient()
    neutral.force_authenticate(importer)  # no right to personal data: the neutral reason
    neutral.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    shown = neutral.get(f"/api/v1/imports/{job.pk}/").json()["errors"]
    assert {e["line"]: e["reason"] for e in shown if e["column"] == "id_number"}[2] == (
        "此人无法在此导入"
    )


def test_a_job_stored_with_the_text_alone_still_shows_that_text(tree):
    job = ImportJob.objects.create(
        kind="people",
        filename="old.csv",
        status="done",
        jurisdiction_path=tree["city"].path,
        header=["id_number"],
        rejected=1,
        errors=[{"line": 2, "column": "id_number", "value": "1", "reason": "旧的原因"}],
        rejected_rows=[{"line": 2, "values": ["1"]}],
    )
    assert (
        reader(tree, "en").get(f"/api/v1/imports/{job.pk}/").json()["errors"][0]["reason"]
        == "旧的原因"
    )
    assert imports.error_reasons(job) == [{"line": 2, "column": "id_number", "reason": "旧的原因"}]


def test_a_reason_reads_as_its_text_and_formats_like_gettext():
    with translation.override("zh-hans"):
        made = imports.reason("duplicate of line %(line)s") % {"line": 7}
    assert isinstance(made, str) and made.msgid == "duplicate of line %(line)s"
    assert made.params == {"line": 7}
    with translation.override("en"):
        assert imports.reason_text(imports.reason_fields(made)) == "duplicate of line 7"
