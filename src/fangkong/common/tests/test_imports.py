"""Import machinery: reading CSV in three encodings and XLSX, line numbers, jobs, rejected rows, writers."""

import csv
import datetime as dt
import io

import openpyxl
import pytest

from fangkong.common.imports import (
    ImportFileError,
    RowErrors,
    chunked,
    job_finish,
    job_start,
    parse_date,
    read_table,
    rejected_rows_csv,
    write_table,
)
from fangkong.common.models import ImportJob

ALIASES = {"姓名": "name", "编号": "code"}
TEXT = '编号,姓名,备注\nA1,张三,\n\nA2,李四,"两行\n的备注"\nA3,王五,x\n'


def rows_of(source, filename="f.csv", **kwargs):
    with read_table(source, filename=filename, aliases=ALIASES, **kwargs) as table:
        return table.header, table.columns, list(table.rows)


EXPECTED = [
    (2, {"code": "A1", "name": "张三", "备注": ""}),
    (4, {"code": "A2", "name": "李四", "备注": "两行\n的备注"}),
    (6, {"code": "A3", "name": "王五", "备注": "x"}),
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_give_the_same_rows_and_file_lines(encoding):
    header, columns, rows = rows_of(io.BytesIO(TEXT.encode(encoding)), required=["code", "name"])
    assert header == ["编号", "姓名", "备注"]
    assert columns == ["code", "name", "备注"]
    assert rows == EXPECTED


def test_text_stream_and_path_sources(tmp_path):
    assert rows_of(io.StringIO("\ufeff" + TEXT))[2] == EXPECTED
    path = tmp_path / "people.csv"
    path.write_bytes(TEXT.encode("gb18030"))
    assert rows_of(str(path))[2] == EXPECTED
    assert rows_of(path)[2] == EXPECTED


def test_gb18030_detected_even_when_the_first_kilobytes_are_ascii():
    text = "code,name\n" + "".join(f"A{i},x\n" for i in range(20000)) + "B,张三\n"
    rows = rows_of(io.BytesIO(text.encode("gb18030")))[2]
    assert rows[-1] == (20002, {"code": "B", "name": "张三"})


def test_xlsx_numbers_dates_and_blank_rows():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["编号", "姓名", "when", "phone", None])
    sheet.append(["A1", "张三", dt.datetime(1990, 5, 6), 13800000000, None])
    sheet.append([None, None, None, None])
    sheet.append(["A2", " 李四 ", dt.datetime(2022, 4, 1, 8, 30), 2.5, None])
    buffer = io.BytesIO()
    book.save(buffer)
    header, columns, rows = rows_of(io.BytesIO(buffer.getvalue()), filename="x.XLSX")
    assert header == ["编号", "姓名", "when", "phone"]
    assert rows == [
        (2, {"code": "A1", "name": "张三", "when": "1990-05-06", "phone": "13800000000"}),
        (4, {"code": "A2", "name": "李四", "when": "2022-04-01 08:30:00", "phone": "2.5"}),
    ]


def test_short_rows_are_padded_and_extra_cells_kept_apart():
    rows = rows_of(io.BytesIO(b"code,name\nA1\nA2,x,extra\nA3,y,\n"))[2]
    assert rows == [
        (2, {"code": "A1", "name": ""}),
        (3, {"code": "A2", "name": "x", None: ["extra"]}),
        (4, {"code": "A3", "name": "y"}),
    ]


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "f.csv", "the file has no header line"),
        (b"code,name,Code\n", "f.csv", "the column code appears twice"),
        (b"name\nx\n", "f.csv", "required columns are missing: code"),
        (b"not a zip", "f.xlsx", "the file is not a readable XLSX workbook"),
        (b'code,name\n"A1,unterminated\n', "f.csv", None),
    ],
)
def test_unreadable_files_raise_import_file_error(content, filename, message):
    if message is None:  # an unterminated quote swallows the rest: one odd row, not an error
        assert rows_of(io.BytesIO(content), filename=filename)[2] == [
            (2, {"code": "A1,unterminated", "name": ""})
        ]
        return
    with pytest.raises(ImportFileError) as info, translation_en():
        rows_of(io.BytesIO(content), filename=filename, required=["code"])
    assert str(info.value) == message


def translation_en():
    from django.utils import translation

    return translation.override("en")


def test_missing_path_is_an_import_file_error(tmp_path):
    with pytest.raises(ImportFileError, match="cannot be read"), translation_en():
        read_table(str(tmp_path / "nope.csv"))


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("1990-05-06", dt.date(1990, 5, 6)),
        ("1990/5/6", dt.date(1990, 5, 6)),
        ("1990.05.06", dt.date(1990, 5, 6)),
        ("19900506", dt.date(1990, 5, 6)),
        ("1990-05-06 00:00:00", dt.date(1990, 5, 6)),
        ("32999", dt.date(1990, 5, 6)),  # Excel serial day
    ],
)
def test_parse_date_formats(text, date):
    assert parse_date(text) == date


@pytest.mark.parametrize("text", ["1990-13-45", "06/05/1990", "abc", "1990-05", "199005061"])
def test_parse_date_rejects(text):
    with pytest.raises(ValueError):
        parse_date(text)


def test_chunked():
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []


@pytest.mark.django_db
def test_job_finish_and_rejected_rows_csv():
    job = job_start(kind="people", filename="/tmp/x/p.csv", actor=None, jurisdiction_path="/")
    errors = RowErrors()
    errors.reject_one(5, ["B", "李四"], "name", "李四", "too long")
    errors.reject(3, ["A", ""], [])
    errors.reject_one(3, ["A", ""], "name", "", "name is required")
    errors.reject_one(3, ["A", ""], "", "", "the row has more values than the header has columns")
    job = job_finish(
        job, header=["code", "name"], errors=errors, total=10, created=6, updated=1, unchanged=1
    )
    job.refresh_from_db()
    assert (job.filename, job.status, job.total_rows, job.rejected) == (
        "p.csv",
        ImportJob.Status.DONE,
        10,
        2,
    )
    assert job.finished_at is not None
    assert [e["line"] for e in job.errors] == [3, 3, 5]
    assert job.errors[0] == {"line": 3, "column": "name", "value": "", "reason": "name is required"}
    assert job.rejected_rows == [
        {"line": 3, "values": ["A", ""]},
        {"line": 5, "values": ["B", "李四"]},
    ]
    text = rejected_rows_csv(job)
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:]))) == [
        ["code", "name", "line", "error"],
        [
            "A",
            "",
            "3",
            "name: name is required; the row has more values than the header has columns",
        ],
        ["B", "李四", "5", "name: too long"],
    ]


@pytest.mark.parametrize("binary", [False, True])
def test_write_csv_to_text_or_binary_streams_round_trips(binary):
    out = io.BytesIO() if binary else io.StringIO()
    rows = [["A1", "=SUM(1)", None, 3], ["A2", "-5", dt.date(2020, 1, 2), 0]]
    assert write_table(out, fmt="csv", header=["code", "note", "day", "n"], rows=iter(rows)) == 2
    data = out.getvalue()
    text = data.decode("utf-8") if binary else data
    assert text.startswith("\ufeff")
    assert text[1:].splitlines() == ["code,note,day,n", "A1,'=SUM(1),,3", "A2,'-5,2020-01-02,0"]
    back = rows_of(io.BytesIO(text.encode("utf-8")))[2]
    assert [row["note"] for _line, row in back] == ["=SUM(1)", "-5"]
    assert not out.closed


def test_write_xlsx_round_trips():
    out = io.BytesIO()
    rows = [["320102199001010012", "=cmd", dt.date(1990, 1, 1)]]
    assert write_table(out, fmt="xlsx", header=["code", "name", "day"], rows=rows) == 1
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert list(sheet.iter_rows(values_only=True))[1] == (
        "320102199001010012",
        "'=cmd",
        dt.datetime(1990, 1, 1),
    )
    assert rows_of(io.BytesIO(out.getvalue()), filename="o.xlsx")[2] == [
        (2, {"code": "320102199001010012", "name": "=cmd", "day": "1990-01-01"})
    ]
    with pytest.raises(ValueError):
        write_table(io.BytesIO(), fmt="pdf", header=[], rows=[])
