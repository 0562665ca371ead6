"""Population import: every bad row reported with line, column and reason; good rows kept; idempotent."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from fangkong.audit.models import AuditEntry
from fangkong.common.imports import read_table, rejected_rows_csv
from fangkong.common.models import ImportJob
from fangkong.people import idnumber
from fangkong.people.models import Person, Tag
from fangkong.people.services import ALIASES, people_import
from fangkong.people.tests.factories import PersonFactory

GRID_A, GRID_B, GRID_C = "320102001001G01", "320102001001G02", "320104001001G01"
HEADER = ["id_number", "name", "sex", "birth_date", "phone", "grid_code", "address", "tags"]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def district_user(make_user):
    return make_user(role="hq_staff", node="district")


def good_row(i: int) -> list[str]:
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=i * 23)
    male = i % 2 == 1
    number = idnumber.make("320102", birth, (i % 400) * 2 + (1 if male else 0))
    sex = ["", "M" if male else "F", "男" if male else "女"][i % 3]
    birth_text = ["", birth.isoformat(), birth.strftime("%Y/%m/%d")][i % 3]
    phone = ["", f"139{i:08d}", f"025-8{i:07d}", f"+86 138 {i:04d} {i:04d}"][i % 4]
    tags = "" if male else ["", "chronic_disease;living_alone", "慢性病", "Pregnant"][i // 2 % 4]
    return [
        number,
        f"居民{i}",
        sex,
        birth_text,
        phone,
        [GRID_A, GRID_B][i % 2],
        f"长江路{i}号" if i % 5 else "",
        tags,
    ]


def bad_file(rows: int = 1000, bad_every: int = 20):
    """`rows` data rows; every `bad_every`-th one is bad in one of ten ways. Returns the rows and
    the expected (line, column, reason) of each bad one (header = line 1)."""
    data, expected = [], []
    for i in range(rows):
        line = i + 2
        row = good_row(i)
        if i % bad_every == bad_every - 1:
            kind = (i // bad_every) % 10
            if kind == 0:
                last = row[0][-1]
                row[0] = row[0][:17] + ("0" if last != "0" else "1")
                row[2] = row[3] = ""
                expected.append((line, "id_number", "check digit does not match"))
            elif kind == 1:
                first17 = f"32010219900230{i % 1000:03d}"
                row[0], row[2], row[3] = first17 + idnumber.check_char(first17), "", ""
                expected.append((line, "id_number", "the birth date it encodes does not exist"))
            elif kind == 2:
                birth, sex = idnumber.parse(row[0])
                row[2] = "F" if sex == "M" else "M"
                expected.append((line, "sex", "sex does not match the ID number"))
            elif kind == 3:
                row[4] = "12345"
                expected.append((line, "phone", "not a mainland mobile or landline number"))
            elif kind == 4:
                row[5] = "320102001001G99"
                expected.append((line, "grid_code", "unknown grid code"))
            elif kind == 5:
                row[5] = "320102001001"
                expected.append((line, "grid_code", "not a grid but a Community/Village"))
            elif kind == 6:
                row[5] = GRID_C
                expected.append((line, "grid_code", "grid outside your jurisdiction"))
            elif kind == 7:
                row[1] = ""
                expected.append((line, "name", "name is required"))
            elif kind == 8:
                row = good_row(i - 5)
                row[1] = "重复的人"
                expected.append((line, "id_number", f"duplicate of line {line - 5}"))
            else:
                row[3] = "1990-13-45"
                expected.append((line, "birth_date", "not a date; write it as YYYY-MM-DD"))
        data.append(row)
    return data, expected


def to_csv(rows, header=HEADER, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def run(actor, content: bytes, filename="people.csv") -> ImportJob:
    return people_import(actor=actor, source=io.BytesIO(content), filename=filename)


def errors_of(job):
    return [(e["line"], e["column"], e["reason"]) for e in job.errors]


def test_thousand_rows_fifty_bad_then_reimport_changes_nothing(district_user):
    rows, expected = bad_file()
    assert (
        len(expected) == 50
        and len({reason.split(" of line")[0] for _l, _c, reason in expected}) == 10
    )
    content = to_csv(rows)

    job = run(district_user, content)

    assert job.status == ImportJob.Status.DONE
    assert (job.total_rows, job.created, job.updated, job.unchanged, job.rejected) == (
        1000,
        950,
        0,
        0,
        50,
    )
    assert errors_of(job) == expected
    assert [r["line"] for r in job.rejected_rows] == [line for line, _c, _r in expected]
    assert job.rejected_rows[0] == {"line": 21, "values": rows[19]}
    assert Person.objects.count() == 950
    assert job.jurisdiction_path == district_user.jurisdiction.path
    assert job.actor == district_user

    # The rows keep what the file says, and what the ID number implies.
    first = rows[3]
    person = Person.objects.get(document_number=first[0])
    birth, sex = idnumber.parse(first[0])
    assert (person.name, person.sex, person.birth_date) == ("居民3", sex, birth)
    assert (person.phone, person.address, person.grid.code, person.jpath) == (
        "+86 138 0003 0003".replace(" ", "")[3:],
        "长江路3号",
        GRID_B,
        "/320000/320100/320102/320102001/320102001001/320102001001G02/",
    )
    tags = {i: Person.objects.get(document_number=rows[i][0]).tags for i in (0, 1, 2, 4, 6)}
    assert tags == {
        0: 0,
        1: 0,
        2: Tag.CHRONIC_DISEASE | Tag.LIVING_ALONE,
        4: Tag.CHRONIC_DISEASE,
        6: Tag.PREGNANT,
    }

    # The summary; each chunk has its own entry too (see test_job_faults).
    entry = AuditEntry.objects.get(action="import", changes__has_key="rows")
    assert (entry.object_type, entry.object_id, entry.actor_id) == (
        "people.person",
        str(job.pk),
        district_user.pk,
    )
    assert entry.changes == {
        "rows": 1000,
        "created": 950,
        "updated": 0,
        "unchanged": 0,
        "rejected": 50,
    }
    assert entry.jurisdiction_path == district_user.jurisdiction.path

    before = dict(Person.objects.values_list("id", "updated_at"))
    again = run(district_user, content)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 950, 50)
    assert errors_of(again) == expected
    assert dict(Person.objects.values_list("id", "updated_at")) == before
    assert AuditEntry.objects.filter(action="update").count() == 0


def test_import_is_chunked_without_a_query_per_row(
    district_user, django_assert_max_num_queries, monkeypatch
):
    from fangkong.people import services

    monkeypatch.setattr(services, "CHUNK_SIZE", 250)
    rows, _expected = bad_file()
    # Per chunk of 250: existing people, ≤ 4 insert batches (SQLite's variable limit), progress
    # and a savepoint pair; plus the grid lookup, the job and its audit entry. 36 on SQLite.
    with django_assert_max_num_queries(40):
        job = run(district_user, to_csv(rows))
    assert job.created == 950


def test_changed_rows_are_updated_and_audited_with_before_after(district_user, tree):
    rows = [good_row(i) for i in range(4)]
    run(district_user, to_csv(rows))
    untouched = Person.objects.get(document_number=rows[0][0]).updated_at
    rows[1][1] = "改名"
    rows[2][4] = "13800000000"
    rows[3][5] = GRID_A  # moved to another grid of the same community

    job = run(district_user, to_csv(rows))

    assert (job.created, job.updated, job.unchanged, job.rejected) == (0, 3, 1, 0)
    assert Person.objects.get(document_number=rows[0][0]).updated_at == untouched
    changes = {e.object_repr: e.changes for e in AuditEntry.objects.filter(action="update")}
    assert changes["改名"] == {"name": ["居民1", "改名"]}
    assert changes["居民2"] == {"phone": ["025-80000002", "13800000000"]}
    grid_b, grid_a = tree["grid_b"], tree["grid_a"]
    assert changes["居民3"] == {
        "grid_id": [grid_b.pk, grid_a.pk],
        "jpath": [grid_b.path, grid_a.path],
    }
    assert Person.objects.get(document_number=rows[3][0]).grid == grid_a


def test_empty_optional_cells_keep_stored_values(district_user):
    rows = [good_row(6)]
    run(district_user, to_csv(rows))
    rows[0][4] = rows[0][6] = rows[0][7] = ""
    job = run(district_user, to_csv(rows))
    assert (job.updated, job.unchanged) == (0, 1)
    person = Person.objects.get()
    assert (person.phone, person.address, person.tags) == (
        "025-80000006",
        "长江路6号",
        Tag.PREGNANT,
    )


def test_person_of_another_jurisdiction_is_not_taken_over(district_user, tree):
    other = PersonFactory(grid=tree["grid_c"])
    content = to_csv([[other.document_number, other.name, "", "", "", GRID_A, "", ""]])
    job = run(district_user, content)
    assert (job.created, job.updated, job.rejected) == (0, 0, 1)
    assert errors_of(job) == [(2, "id_number", "this person cannot be imported here")]
    assert job.errors[0]["detail"] == "person registered in another jurisdiction"
    other.refresh_from_db()
    assert other.grid == tree["grid_c"]


def test_grid_worker_may_import_only_into_own_grid(make_user):
    worker = make_user(role="grid_worker", node="grid_a")
    job = run(worker, to_csv([good_row(0), good_row(1)]))
    assert (job.created, job.rejected) == (1, 1)
    assert errors_of(job) == [(3, "grid_code", "grid outside your jurisdiction")]


def test_xlsx_import_matches_csv(district_user):
    rows, expected = bad_file(200, 10)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        cells = list(row)
        try:
            cells[3] = dt.datetime.fromisoformat(row[3].replace("/", "-"))  # Excel date cells
        except ValueError:
            pass
        if cells[4].isdigit():
            cells[4] = int(cells[4])  # phones typed as numbers
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)

    job = run(district_user, buffer.getvalue(), "people.xlsx")

    assert (job.total_rows, job.created, job.rejected) == (200, 180, 20)
    assert errors_of(job) == expected
    number = rows[1][0]
    assert Person.objects.get(document_number=number).phone == "13900000001"
    csv_job = run(district_user, to_csv(rows))
    assert (csv_job.created, csv_job.updated, csv_job.unchanged) == (0, 0, 180)


def test_gb18030_csv_with_chinese_headers(district_user):
    header = ["身份证号", "姓名", "性别", "出生日期", "联系电话", "网格编码", "地址", "标签"]
    rows = [good_row(i) for i in range(6)]
    rows[1][2] = "女"  # wrong: row 1 is a man
    content = to_csv(rows, header=header, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")

    job = run(district_user, content)

    assert (job.created, job.rejected) == (5, 1)
    assert errors_of(job) == [(3, "sex", "sex does not match the ID number")]
    assert job.header == header
    assert Person.objects.get(document_number=rows[4][0]).name == "居民4"
    assert "居民1" in rejected_rows_csv(job)


def test_utf8_bom_and_document_types(district_user):
    content = (
        "\ufeff证件号码,姓名,证件类型,性别,出生日期,网格编码\n"
        "E12345678,John Smith,护照,M,1980/02/03,320102001001G01\n"
        "E12345679,Jane Roe,passport,,1981-02-03,320102001001G01\n"
        "AB,Short,passport,F,1981-02-03,320102001001G01\n"
        "X1234567,No Such,driving licence,F,1981-02-03,320102001001G01\n"
    ).encode()
    job = run(district_user, content)
    assert (job.created, job.rejected) == (1, 3)
    assert errors_of(job) == [
        (3, "sex", "sex is required for documents other than the resident ID card"),
        (4, "id_number", "a document number is 4 to 32 letters, digits or '-'"),
        (5, "document_type", "unknown document type"),
    ]
    person = Person.objects.get()
    assert (person.document_type, person.sex, person.birth_date) == (
        "passport",
        "M",
        dt.date(1980, 2, 3),
    )


def test_unreadable_file_or_missing_columns_fail_the_job(district_user):
    job = run(district_user, "name,phone\n张三,13800000000\n".encode())
    assert job.status == ImportJob.Status.FAILED
    assert job.message == "required columns are missing: id_number, grid_code"
    broken = run(district_user, b"PK\x03\x04 not really a workbook", "people.xlsx")
    assert broken.status == ImportJob.Status.FAILED
    assert broken.message == "the file is not a readable XLSX workbook"
    assert Person.objects.count() == 0


def test_rejected_rows_csv_has_original_cells_line_and_reason(district_user):
    rows, _expected = bad_file(40, 20)
    job = run(district_user, to_csv(rows))
    text = rejected_rows_csv(job)
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == [*HEADER, "line", "error"]
    # A phone written +86 … would be a formula to Excel: quoted, and unquoted again on import.
    quoted = [*rows[19][:4], "'" + rows[19][4], *rows[19][5:]]
    assert lines[1] == [*quoted, "21", "id_number: check digit does not match"]
    assert lines[2][-2:] == ["41", "id_number: the birth date it encodes does not exist"]
    assert len(lines) == 3
    with read_table(io.BytesIO(text.encode()), filename="r.csv", aliases=ALIASES) as table:
        assert [table.original(row)[:-2] for _line, row in table.rows][0] == rows[19]


def test_cli_import_prints_counts_and_errors(district_user, tmp_path):
    rows, expected = bad_file(140, 20)
    path = tmp_path / "people.csv"
    path.write_bytes(to_csv(rows))
    out, err = io.StringIO(), io.StringIO()

    call_command(
        "people", "import", str(path), "--as", district_user.username, stdout=out, stderr=err
    )

    assert "140 rows, 133 created, 0 updated, 0 unchanged, 7 rejected" in out.getvalue()
    assert err.getvalue().splitlines() == [
        f"line {line}, {column}: {reason}" for line, column, reason in expected
    ]
    assert ImportJob.objects.get().actor == district_user

    # Without --as the operator may import anywhere, including grid C.
    call_command("people", "import", str(path), stdout=out, stderr=io.StringIO())
    assert Person.objects.filter(grid__code=GRID_C).count() == 1


def test_cli_all_or_nothing_writes_nothing_and_lists_the_bad_rows(district_user, tmp_path):
    rows, expected = bad_file(60, 20)
    path = tmp_path / "people.csv"
    path.write_bytes(to_csv(rows))
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 rows were rejected, so nothing was written"):
        call_command("people", "import", str(path), "--all-or-nothing", stderr=err)
    assert len(err.getvalue().splitlines()) == len(expected) == 3
    assert Person.objects.count() == 0


def test_cli_fails_on_missing_columns_or_unknown_user(tree, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name\n张三\n", encoding="utf-8")
    with pytest.raises(CommandError, match="required columns are missing: id_number, grid_code"):
        call_command("people", "import", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("people", "import", str(path), "--as", "nobody")
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("people", "import", str(tmp_path / "missing.csv"))


def test_full_width_digits_are_stored_as_ascii_and_other_scripts_refused(district_user):
    number = good_row(0)[0]
    full_width = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    lao = number[:5] + "໕" + number[6:] if number[5] == "5" else "32010໒" + number[6:]
    content = to_csv(
        [
            [full_width, "全角", "", "", "", GRID_A, "", ""],
            [lao, "老挝数字", "", "", "", GRID_A, "", ""],
        ]
    )
    job = run(district_user, content)
    assert (job.created, job.rejected) == (1, 1)
    assert errors_of(job) == [(3, "id_number", "must be 17 digits followed by a digit or X")]
    assert Person.objects.get().document_number == number


def test_15_digit_numbers_are_stored_as_18_with_the_original_kept(district_user):
    # GB 11643-1989: 6 area digits, YYMMDD, 3 sequence digits, no check character.
    legacy = "320102491231002"
    content = to_csv(
        [
            [legacy, "老证件", "F", "1949-12-31", "", GRID_A, "", ""],
            [
                idnumber.make("320102", dt.date(1990, 5, 6), 11),
                "新证件",
                "",
                "",
                "",
                GRID_A,
                "",
                "",
            ],
        ]
    )
    job = run(district_user, content)
    assert (job.created, job.rejected) == (2, 0)
    person = Person.objects.get(name="老证件")
    assert person.document_number == "32010219491231002X"
    assert person.document_number_legacy == legacy
    assert (person.birth_date, person.sex) == (dt.date(1949, 12, 31), "F")
    assert Person.objects.get(name="新证件").document_number_legacy == ""
    # The same person again, now with the 18 digits: the same row, nothing changed.
    again = run(
        district_user, to_csv([["32010219491231002X", "老证件", "", "", "", GRID_A, "", ""]])
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert Person.objects.get(name="老证件").document_number_legacy == legacy


def test_a_15_digit_and_its_18_digit_number_in_one_file_are_one_person(district_user):
    content = to_csv(
        [
            ["320102491231002", "甲", "", "", "", GRID_A, "", ""],
            ["32010219491231002X", "甲", "", "", "", GRID_A, "", ""],
        ]
    )
    job = run(district_user, content)
    assert errors_of(job) == [(3, "id_number", "duplicate of line 2")]


def test_numbers_outside_every_province_are_rejected_with_the_reason(district_user):
    bad = idnumber.make("910102", dt.date(1990, 5, 6), 11)  # 91: no GB/T 2260 province
    content = to_csv([[bad, "无省份", "", "", "", GRID_A, "", ""], good_row(0)])
    job = run(district_user, content)
    assert (job.created, job.rejected) == (1, 1)
    assert errors_of(job) == [(2, "id_number", "the area code is in no province")]
    with translation.override("zh-hans"):
        job = run(district_user, content)
    assert errors_of(job) == [(2, "id_number", "号码中的地区代码不属于任何省份")]


def test_people_born_before_1890_are_imported(district_user):
    job = run(
        district_user, to_csv([["440524188001010014", "标准样例", "", "", "", GRID_A, "", ""]])
    )
    assert (job.created, job.rejected) == (1, 0)
    assert Person.objects.get().birth_date == dt.date(1880, 1, 1)
