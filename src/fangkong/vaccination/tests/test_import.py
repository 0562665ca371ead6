"""The bulk import of the vaccination system's file: bad rows with line and reason, good rows
kept, a re-import changes nothing, the coverage counters follow, the importer's scope holds."""

import io

import pyarrow as pa
import pytest
from django.core.management import call_command
from django.db import connection

from fangkong.audit.models import AuditEntry
from fangkong.testing import engine
from fangkong.vaccination import bulk, coverage
from fangkong.vaccination.models import Dose, GridCoverage, Lot

HEADER = "id_number,product_code,lot,dose_number,given_at,site_code\n"


def _file(city) -> bytes:
    a, c = city["people"]["grid_a"], city["people"]["grid_c"]
    rows = [
        f"{a[1].document_number},BBIBP,202105A1,1,2021-05-01 09:30:00,JZ-A",  # 2
        f"{a[1].document_number},bbibp,202106A1,2,2021-06-01 10:00,JZ-A",  # 3
        f"{a[3].document_number},ZF2001,ZF01,1,2021-05-03,JZ-A",  # 4
        f"{a[3].document_number},ZF2001,ZF01,2,2021-06-03 08:00:00,JZ-A",  # 5
        f"{a[3].document_number},ZF2001,ZF02,2,2021-06-04 08:00:00,JZ-A",  # 6 repeat of dose 2
        f"{c[0].document_number},CORONAVAC,K1,1,2021-05-01 09:00:00,JZ-C",  # 7
        "110101199003077777,BBIBP,L,1,2021-05-01 09:00:00,JZ-A",  # 8 nobody
        f"{a[2].document_number},SPUTNIK,L,1,2021-05-01 09:00:00,JZ-A",  # 9 product
        f"{a[2].document_number},BBIBP,,1,2021-05-01 09:00:00,JZ-A",  # 10 lot
        f"{a[2].document_number},BBIBP,L,0,2021-05-01 09:00:00,JZ-A",  # 11 dose number
        f"{a[2].document_number},BBIBP,L,1,2021-13-01 09:00:00,JZ-A",  # 12 time
        f"{a[2].document_number},BBIBP,L,1,2099-01-01 09:00:00,JZ-A",  # 13 future
        f"{a[2].document_number},BBIBP,L,1,2021-05-01 09:00:00,JZ-X",  # 14 site
        f"{a[2].document_number},BBIBP",  # 15 short
    ]
    return (HEADER + "\n".join(rows) + "\n").encode()


def _reasons(job) -> dict[int, tuple[str, str]]:
    return {e["line"]: (e["column"], e["reason"]) for e in job.errors}


def test_import_rejects_bad_rows_keeps_good_ones_and_is_idempotent(city):
    data = _file(city)
    job = bulk.import_doses(actor=None, source=io.BytesIO(data), filename="doses.csv")
    assert job.status == "done"
    assert (job.total_rows, job.created, job.unchanged, job.rejected) == (14, 5, 0, 9)
    assert _reasons(job) == {
        6: ("dose_number", "the file names this dose twice"),
        8: ("id_number", "nobody in your jurisdiction has this number"),
        9: ("product_code", "no such vaccine product"),
        10: ("lot", "empty"),
        11: ("dose_number", "must be a whole number from 1 to 9"),
        12: ("given_at", "not a time YYYY-MM-DD HH:MM:SS"),
        13: ("given_at", "in the future"),
        14: ("site_code", "no such vaccination site"),
        15: ("", "too few columns"),
    }
    a = city["people"]["grid_a"]
    doses = list(
        Dose.objects.filter(person=a[1]).values_list("dose_number", "product__code", "lot__code")
    )
    assert doses == [(1, "BBIBP", "202105A1"), (2, "BBIBP", "202106A1")]
    given = Dose.objects.get(person=a[1], dose_number=1).given_at
    assert given.isoformat() == "2021-05-01T01:30:00+00:00"  # 09:30 in Shanghai
    assert Lot.objects.count() == 4
    # The counters of the touched grids: grid A's 18–59 band has 2 people, 2 first, 1 full.
    row = GridCoverage.objects.get(grid=city["grid_a"], band=2)
    assert (row.population, row.first, row.full) == (2, 1, 1)
    assert GridCoverage.objects.get(grid=city["grid_a"], band=3).first == 1
    assert GridCoverage.objects.get(grid=city["grid_c"], band=2).first == 1
    again = bulk.import_doses(actor=None, source=io.BytesIO(data), filename="doses.csv")
    assert (again.created, again.unchanged, again.rejected) == (0, 5, 9)
    assert Dose.objects.count() == 5 and Lot.objects.count() == 4
    assert AuditEntry.objects.filter(action="import").count() == 2


def test_import_chinese_header_and_scope(city, make_user):
    a, c = city["people"]["grid_a"], city["people"]["grid_c"]
    data = (
        "身份证号,疫苗编码,批号,剂次,接种时间,接种点编码\n"
        f"{a[0].document_number},BBIBP,L1,1,2021-09-01 09:00:00,JZ-A\n"
        f"{c[0].document_number},BBIBP,L1,1,2021-09-01 09:00:00,JZ-A\n"
    ).encode()
    vaccinator = make_user(role="vaccinator", node="district")
    job = bulk.import_doses(actor=vaccinator, source=io.BytesIO(data), filename="接种.csv")
    assert (job.created, job.rejected) == (1, 1)
    # Someone of another district reads exactly as nobody.
    assert _reasons(job) == {3: ("id_number", "nobody in your jurisdiction has this number")}
    assert job.jurisdiction_path == city["district"].path


def test_import_refused_for_a_grid_worker_and_bad_header(city, make_user):
    from fangkong.common import errors

    worker = make_user(role="grid_worker")
    try:
        bulk.import_doses(actor=worker, source=io.BytesIO(b"x"), filename="x.csv")
    except errors.Forbidden:
        pass
    else:
        raise AssertionError("a grid worker imported doses")
    job = bulk.import_doses(actor=None, source=io.BytesIO(b"name,phone\n"), filename="x.csv")
    assert job.status == "failed" and "missing columns" in job.message


def test_cli_import_and_refresh(city, tmp_path, capsys):
    path = tmp_path / "doses.csv"
    path.write_bytes(_file(city))
    call_command("vaccination", "import", str(path))
    out = capsys.readouterr()
    assert "14 rows, 5 created, 0 updated, 0 unchanged, 9 rejected" in out.out
    assert "line 8, id_number: nobody in your jurisdiction has this number" in out.err
    call_command("vaccination", "refresh")
    assert "grid × age-band rows" in capsys.readouterr().out
    assert GridCoverage.objects.filter(grid=city["grid_b"]).exists()


def _coverage_rows():
    return sorted(
        GridCoverage.objects.values_list(
            "grid_id", "jpath", "band", "population", "first", "full", "booster", "booster2"
        )
    )


def same_connection(monkeypatch):
    """The whole registry read on the test's own connection: on PostgreSQL the import reads it on
    a second connection (engine.Prefetch), which cannot see the test's uncommitted city."""
    monkeypatch.setattr(
        bulk,
        "_registry_fetch",
        lambda: bulk._Fetched(
            engine.fetch_all(
                "people_person",
                [
                    ("document_number", pa.string()),
                    *bulk.REGISTRY_COLUMNS,
                    (bulk._birth_days_sql(), pa.int64()),
                ],
            )
        ),
    )


@pytest.mark.parametrize("whole", [False, True])
def test_import_block_by_block_reads_as_one(city, monkeypatch, whole):
    """Blocks of a few lines (the 25-million-dose file is read 256 MiB at a time): the same
    lines and reasons, repeats found across blocks; with the whole registry in memory the
    counters built there equal the ones SQL computes."""
    monkeypatch.setattr(bulk, "BLOCK_BYTES", 100)
    monkeypatch.setattr(bulk, "WHOLE_REGISTRY_ALWAYS", whole)
    same_connection(monkeypatch)
    # On PostgreSQL a file of several blocks always reads the registry whole.
    whole = whole or connection.vendor == "postgresql"
    job = bulk.import_doses(actor=None, source=io.BytesIO(_file(city)), filename="doses.csv")
    assert (job.total_rows, job.created, job.unchanged, job.rejected) == (14, 5, 0, 9)
    assert sorted(_reasons(job)) == [6, 8, 9, 10, 11, 12, 13, 14, 15]
    assert _reasons(job)[6] == ("dose_number", "the file names this dose twice")
    assert Dose.objects.count() == 5 and Lot.objects.count() == 4
    built = _coverage_rows()
    row = GridCoverage.objects.get(grid=city["grid_a"], band=2)
    assert (row.population, row.first, row.full) == (2, 1, 1)
    # The SQL path counts the grids the file touched; the in-memory one every grid.
    coverage.refresh(grid_ids=None if whole else sorted({r[0] for r in built}))
    assert built == _coverage_rows()
    assert len({r[0] for r in built}) == (3 if whole else 2)


def test_import_quoted_field_across_blocks(city, monkeypatch):
    monkeypatch.setattr(bulk, "BLOCK_BYTES", 30)
    same_connection(monkeypatch)
    a = city["people"]["grid_a"]
    data = (
        HEADER
        + f'{a[0].document_number},BBIBP,"L\n1",1,2021-05-01 09:00:00,JZ-A\n'
        + f"{a[1].document_number},BBIBP,L,1,2021-13-01,JZ-A\n"
    ).encode()
    job = bulk.import_doses(actor=None, source=io.BytesIO(data), filename="doses.csv")
    assert (job.total_rows, job.created, job.rejected) == (2, 1, 1)
    assert _reasons(job) == {4: ("given_at", "not a time YYYY-MM-DD HH:MM:SS")}
    assert Dose.objects.get(person=a[0]).lot.code == "L\n1"


def test_line_end_never_inside_quotes():
    assert bulk._line_end(b'a,"x\ny",1\nb,') == 10
    assert bulk._line_end(b'a,"x\ny') == 0
    assert bulk._line_end(b'a,"x""\n""y",2\n') == 14
    assert bulk._line_end(b"no newline") == 0
