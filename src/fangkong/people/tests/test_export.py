"""Population export: scoped to the actor's subtree, masked unless allowed, audited, re-importable."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import translation

from fangkong.audit.models import AuditEntry
from fangkong.people import selectors
from fangkong.people.models import Person, Tag
from fangkong.people.services import COLUMNS, people_export, people_import


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def read_csv(text: str) -> list[dict]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def export_csv(actor, unmasked: bool) -> list[dict]:
    out = io.StringIO()
    people_export(actor=actor, out=out, unmasked=unmasked)
    return read_csv(out.getvalue())


def test_grid_worker_export_holds_only_their_grid_unmasked(make_user, people):
    worker = make_user(role="grid_worker", node="grid_a")
    rows = export_csv(worker, unmasked=True)
    assert sorted(r["id_number"] for r in rows) == sorted(p.document_number for p in people["a"])
    first = people["a"][0]
    row = next(r for r in rows if r["id_number"] == first.document_number)
    assert row == {
        "id_number": first.document_number,
        "name": first.name,
        "sex": first.sex,
        "birth_date": first.birth_date.isoformat(),
        "phone": first.phone,
        "grid_code": "320102001001G01",
        "address": "",
        "document_type": "resident_id",
        "tags": "",
    }
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor_id, entry.object_type, entry.jurisdiction_path) == (
        worker.pk,
        "people.person",
        worker.jurisdiction.path,
    )
    assert entry.changes == {"rows": 3, "unmasked": True, "format": "csv"}


def test_masked_export_hides_id_numbers_and_phones(make_user, people):
    commander = make_user(role="commander", node="city")
    rows = export_csv(commander, unmasked=False)
    assert len(rows) == 6
    person = people["c"][0]
    row = next(r for r in rows if r["name"] == person.name)
    assert row["id_number"] == person.document_number[0] + "*" * 16 + person.document_number[-1]
    assert row["phone"] == person.phone[:3] + "******" + person.phone[-2:]
    # The birth date would give back the hidden digits: a ten-year band instead.
    age = selectors.age(person)
    assert row["birth_date"] == f"{age // 10 * 10}-{age // 10 * 10 + 9}"
    assert AuditEntry.objects.get(action="export").changes["unmasked"] is False


def test_district_export_excludes_other_district(make_user, people):
    rows = export_csv(make_user(role="hq_staff", node="district"), unmasked=True)
    assert sorted(r["grid_code"] for r in rows) == ["320102001001G01"] * 3 + ["320102001001G02"] * 2


def test_export_streams_in_few_queries(make_user, people, django_assert_max_num_queries):
    commander = make_user(role="commander", node="province")
    with django_assert_max_num_queries(2):  # the rows with their grid codes, and the audit entry
        people_export(actor=commander, out=io.StringIO(), unmasked=False)


def test_xlsx_export_has_text_ids_and_date_cells(make_user, people):
    Person.objects.filter(pk=people["a"][0].pk).update(
        tags=Tag.CHRONIC_DISEASE | Tag.BEDRIDDEN, address='=HYPERLINK("x")'
    )
    out = io.BytesIO()
    count = people_export(actor=make_user(node="grid_a"), out=out, fmt="xlsx", unmasked=True)
    assert count == 3
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == COLUMNS
    first = people["a"][0]
    row = next(v for v in values[1:] if v[0] == first.document_number)
    assert isinstance(row[0], str)
    assert row[3] == dt.datetime.combine(first.birth_date, dt.time())
    assert row[8] == "chronic_disease;bedridden"
    # A formula is written as text, quoted, so Excel never runs it.
    assert row[6] == '\'=HYPERLINK("x")'


def test_unmasked_export_imports_back_unchanged(people, tmp_path):
    Person.objects.filter(pk=people["b"][0].pk).update(tags=Tag.LIVING_ALONE, address="=1+1")
    for fmt in ("csv", "xlsx"):
        before = dict(Person.objects.values_list("id", "updated_at"))
        path = tmp_path / f"all.{fmt}"
        with open(path, "wb") as out:
            assert people_export(actor=None, out=out, fmt=fmt, unmasked=True) == 6
        job = people_import(actor=None, source=str(path), filename=path.name)
        assert (job.created, job.updated, job.unchanged, job.rejected) == (0, 0, 6, 0), fmt
        assert dict(Person.objects.values_list("id", "updated_at")) == before
    assert Person.objects.get(pk=people["b"][0].pk).address == "=1+1"


def test_masked_export_cannot_overwrite_anyone(make_user, people):
    commander = make_user(role="commander", node="city")
    out = io.StringIO()
    people_export(actor=commander, out=out, unmasked=False)
    job = people_import(actor=None, source=io.BytesIO(out.getvalue().encode()), filename="m.csv")
    assert (job.created, job.updated, job.rejected) == (0, 0, 6)
    # Masked numbers of one province group and check digit look alike: "duplicate" rows too.
    reasons = {(e["column"], e["reason"]) for e in job.errors}
    assert {r for r in reasons if not r[1].startswith("duplicate of line")} == {
        ("id_number", "must be 17 digits followed by a digit or X"),
        ("birth_date", "not a date; write it as YYYY-MM-DD"),
        ("phone", "not a mainland mobile or landline number"),
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_export_operator_unmasked_or_as_user(make_user, people, tmp_path, fmt):
    path = tmp_path / f"people.{fmt}"
    stdout = io.StringIO()
    call_command("people", "export", "--out", str(path), stdout=stdout)
    assert stdout.getvalue().strip() == f"6 people written to {path}"
    if fmt == "csv":
        rows = read_csv(path.read_text(encoding="utf-8"))
        assert {r["id_number"] for r in rows} == {
            p.document_number for ps in people.values() for p in ps
        }

    commander = make_user(role="commander", node="district2")
    stdout = io.StringIO()
    call_command(
        "people",
        "export",
        "--out",
        str(path),
        "--format",
        fmt,
        "--as",
        commander.username,
        stdout=stdout,
    )
    assert stdout.getvalue().strip() == f"1 people written to {path} (masked)"
    entry = AuditEntry.objects.filter(action="export").first()
    assert (entry.actor_id, entry.changes) == (
        commander.pk,
        {"rows": 1, "unmasked": False, "format": fmt},
    )
