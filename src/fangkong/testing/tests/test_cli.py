"""The fixed file interfaces, end to end through `fangkong testing …`: every status transition."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fangkong.audit.models import AuditEntry
from fangkong.common.models import Alert, ImportJob
from fangkong.people.tests.factories import PersonFactory
from fangkong.testing.models import (
    PositiveFinding,
    Recheck,
    Round,
    Sample,
    Site,
    TemporaryControl,
    Tube,
)

from .factories import read_status, write_csv

SAMPLES = ["tube_barcode", "id_number", "sampled_at", "site_code", "kind"]
RESULTS = ["tube_barcode", "result", "reported_at", "lab_code", "ct_orf1ab", "ct_n"]


def cli(*args):
    call_command("testing", *args)


@pytest.fixture
def city(tree, people):
    extra = PersonFactory(grid=tree["grid_b"])
    cli(
        "round-create", "--code", "R1", "--name", "第一轮", "--scope", "320102", "--pool-size", "10"
    )
    a, b = people["a"], people["b"]
    return {
        "a0": a[0],
        "a1": a[1],
        "a2": a[2],
        "b0": b[0],
        "b1": b[1],
        "extra": extra,
        "c0": people["c"][0],
    }


def ids(city, *names):
    return [city[n].document_number for n in names]


def test_round_create(city, tree):
    round_ = Round.objects.get(code="R1")
    assert round_.pool_size == 10
    assert list(round_.scope_nodes.values_list("path", flat=True)) == [tree["district"].path]
    with pytest.raises(CommandError):
        cli("round-create", "--code", "R2", "--name", "x", "--scope", "NOPE")
    with pytest.raises(CommandError):
        cli("round-create", "--code", "R1", "--name", "again", "--scope", "320102")


def test_every_status_transition(city, tmp_path):
    out = tmp_path / "status.csv"
    cli("export-status", "--round", "R1", "--out", str(out))
    first = read_status(out)
    # Everyone of district 320102 (grid A, grid B and the extra person), nobody of district 320104.
    assert set(first) == set(ids(city, "a0", "a1", "a2", "b0", "b1", "extra"))
    assert set(first.values()) == {"not_tested"}

    write_csv(
        tmp_path / "s1.csv",
        SAMPLES,
        [
            ["T001", city["a0"].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
            ["T001", city["a1"].document_number, "2026-11-23 08:00:30", "SITE1", ""],
            ["T002", city["a2"].document_number, "2026-11-23 08:01:00", "SITE1", "pool"],
            ["T003", city["b0"].document_number, "2026-11-23 08:02:00", "SITE2", "pool"],
            ["T004", city["b1"].document_number, "2026-11-23 08:03:00", "SITE2", "pool"],
        ],
    )
    cli("import-samples", "--round", "R1", str(tmp_path / "s1.csv"))
    cli("export-status", "--round", "R1", "--out", str(out))
    assert read_status(out) == dict(
        zip(
            ids(city, "a0", "a1", "a2", "b0", "b1", "extra"),
            ["pending"] * 5 + ["not_tested"],
            strict=True,
        )
    )
    tube = Tube.objects.get(barcode="T001")
    assert (tube.members, tube.status, tube.kind, tube.site.code) == (2, "closed", "pool", "SITE1")
    assert str(tube.sampled_at) == "2026-11-23 00:00:30+00:00"  # 08:00:30 in Shanghai
    assert Site.objects.filter(code__in=["SITE1", "SITE2"]).count() == 2

    write_csv(
        tmp_path / "r1.csv",
        RESULTS,
        [
            ["T001", "positive", "2026-11-23 12:00:00", "LAB1", "28.5", "30.1"],
            ["T002", "negative", "2026-11-23 12:00:00", "LAB1", "", ""],
            ["T003", "invalid", "2026-11-23 12:00:00", "LAB1", "", ""],
        ],
    )
    cli("import-results", str(tmp_path / "r1.csv"))
    cli("export-status", "--round", "R1", "--out", str(out))
    assert read_status(out) == dict(
        zip(
            ids(city, "a0", "a1", "a2", "b0", "b1", "extra"),
            [
                "recheck_required",
                "recheck_required",
                "negative",
                "resample_required",
                "pending",
                "not_tested",
            ],
            strict=True,
        )
    )
    t1 = Tube.objects.get(barcode="T001")
    assert (str(t1.ct_orf1ab), str(t1.ct_n), t1.lab.code, t1.status) == (
        "28.50",
        "30.10",
        "LAB1",
        "resulted",
    )
    # The positive pool: both members under temporary control, on the re-check list, grid alerted.
    assert set(TemporaryControl.objects.values_list("person_id", flat=True)) == {
        city["a0"].pk,
        city["a1"].pk,
    }
    assert set(
        Recheck.objects.filter(reason="positive_pool").values_list("person_id", "status")
    ) == {(city["a0"].pk, "pending"), (city["a1"].pk, "pending")}
    assert list(Recheck.objects.filter(reason="invalid").values_list("person_id", flat=True)) == [
        city["b0"].pk
    ]
    alerts = list(Alert.objects.values_list("kind", "jurisdiction_path", "level"))
    assert alerts == [("pool_positive", city["a0"].jpath, "critical")]

    write_csv(
        tmp_path / "s2.csv",
        SAMPLES,
        [
            ["RC01", city["a0"].document_number, "2026-11-23 14:00:00", "HOME1", "recheck"],
            ["RC02", city["a1"].document_number, "2026-11-23 14:05:00", "HOME1", "recheck"],
        ],
    )
    cli("import-samples", "--round", "R1", str(tmp_path / "s2.csv"))
    cli("export-status", "--round", "R1", "--out", str(out))
    status = read_status(out)
    assert [status[i] for i in ids(city, "a0", "a1")] == ["recheck_pending", "recheck_pending"]
    assert set(Recheck.objects.filter(reason="positive_pool").values_list("status", flat=True)) == {
        "sampled"
    }

    write_csv(
        tmp_path / "r2.csv",
        RESULTS[:4],
        [
            ["RC01", "positive", "2026-11-23 18:00:00", "LAB1"],
            ["RC02", "negative", "2026-11-23 18:00:00", "LAB1"],
        ],
    )
    cli("import-results", str(tmp_path / "r2.csv"))
    cli("export-status", "--round", "R1", "--out", str(out))
    assert read_status(out) == dict(
        zip(
            ids(city, "a0", "a1", "a2", "b0", "b1", "extra"),
            ["positive", "negative", "negative", "resample_required", "pending", "not_tested"],
            strict=True,
        )
    )
    assert list(PositiveFinding.objects.values_list("person_id", flat=True)) == [city["a0"].pk]
    released = dict(TemporaryControl.objects.values_list("person_id", "released_at"))
    assert released[city["a0"].pk] is None and released[city["a1"].pk] is not None
    assert set(
        Recheck.objects.filter(reason="positive_pool").values_list("person_id", "result")
    ) == {(city["a0"].pk, "positive"), (city["a1"].pk, "negative")}

    # Re-sampling the invalid pool's member: the latest sample decides.
    write_csv(
        tmp_path / "s3.csv",
        SAMPLES[:4],
        [["T005", city["b0"].document_number, "2026-11-23 19:00:00", "SITE2"]],
    )
    cli("import-samples", "--round", "R1", str(tmp_path / "s3.csv"))
    cli("export-status", "--round", "R1", "--out", str(out))
    assert read_status(out)[city["b0"].document_number] == "pending"


def test_reimport_changes_nothing_and_is_audited_once_per_job(city, tmp_path):
    rows = [
        ["T001", city["a0"].document_number, "2026-11-23 08:00:00", "SITE1"],
        ["T001", city["a1"].document_number, "2026-11-23 08:00:10", "SITE1"],
    ]
    path = write_csv(tmp_path / "s.csv", SAMPLES[:4], rows)
    cli("import-samples", "--round", "R1", path)
    cli("import-samples", "--round", "R1", path)
    first, second = ImportJob.objects.order_by("id")
    assert (first.created, first.unchanged, first.rejected) == (2, 0, 0)
    assert (second.created, second.unchanged, second.rejected) == (0, 2, 0)
    assert Sample.objects.count() == 2 and Tube.objects.get().members == 2
    results = write_csv(
        tmp_path / "r.csv", RESULTS[:4], [["T001", "negative", "2026-11-23 10:00:00", "LAB1"]]
    )
    cli("import-results", results)
    cli("import-results", results)
    jobs = ImportJob.objects.filter(kind="testing_results").order_by("id")
    assert [(j.updated, j.unchanged) for j in jobs] == [(1, 0), (0, 1)]
    assert AuditEntry.objects.filter(action="import", object_type="common.importjob").count() == 4


def test_bad_rows_are_reported_and_good_rows_kept(city, tmp_path, capsys):
    path = write_csv(
        tmp_path / "bad.csv",
        SAMPLES,
        [
            ["T001", city["a0"].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
            ["T002", "110101199001011234", "2026-11-23 08:00:00", "SITE1", "pool"],
            ["T003", city["a1"].document_number, "2026-02-30 08:00:00", "SITE1", "pool"],
            ["", city["a2"].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
            ["T004", city["b0"].document_number, "2026-11-23 08:00:00", "SITE1", "swab"],
            ["T005"],
            ["T006", city["b1"].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
        ],
    )
    cli("import-samples", "--round", "R1", path)
    job = ImportJob.objects.get()
    assert (job.total_rows, job.created, job.rejected) == (7, 2, 5)
    assert [(e["line"], e["column"]) for e in job.errors] == [
        (3, "id_number"),
        (4, "sampled_at"),
        (5, "tube_barcode"),
        (6, "kind"),
        (7, ""),
    ]
    err = capsys.readouterr().err
    assert "line 3: id_number '110101199001011234'" in err
    assert set(Tube.objects.values_list("barcode", flat=True)) == {"T001", "T006"}


def test_tube_rules_in_files(city, tmp_path):
    cli("round-create", "--code", "R2", "--name", "二", "--scope", "320102", "--pool-size", "2")
    path = write_csv(
        tmp_path / "s.csv",
        SAMPLES,
        [
            ["BIG", city["a0"].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
            ["BIG", city["a1"].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
            ["BIG", city["a2"].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
            ["RC", city["b0"].document_number, "2026-11-23 08:00:00", "SITE1", "recheck"],
            ["RC", city["b1"].document_number, "2026-11-23 08:00:00", "SITE1", "recheck"],
            ["OK", city["extra"].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
        ],
    )
    cli("import-samples", "--round", "R2", path)
    job = ImportJob.objects.get()
    assert (job.created, job.rejected) == (1, 5)
    assert Tube.objects.get().barcode == "OK"
    # A tube of round R2 cannot take samples in round R1.
    again = write_csv(
        tmp_path / "s2.csv",
        SAMPLES[:4],
        [["OK", city["a0"].document_number, "2026-11-23 09:00:00", "SITE1"]],
    )
    cli("import-samples", "--round", "R1", again)
    last = ImportJob.objects.order_by("-id").first()
    assert last.errors[0]["reason"] == "the tube belongs to another round"


def test_result_rows_rejected(city, tmp_path):
    cli(
        "import-samples",
        "--round",
        "R1",
        write_csv(
            tmp_path / "s.csv",
            SAMPLES[:4],
            [["T001", city["a0"].document_number, "2026-11-23 08:00:00", "SITE1"]],
        ),
    )
    cli(
        "import-results",
        write_csv(
            tmp_path / "r.csv",
            RESULTS,
            [
                ["T001", "negative", "2026-11-23 10:00:00", "LAB1", "abc", ""],
                ["NOPE", "negative", "2026-11-23 10:00:00", "LAB1", "", ""],
                ["T001", "maybe", "2026-11-23 10:00:00", "LAB1", "", ""],
                ["T001", "negative", "2026-11-23 10:00:00", "LAB1", "", ""],
                ["T001", "positive", "2026-11-23 10:00:00", "LAB1", "", ""],
            ],
        ),
    )
    job = ImportJob.objects.filter(kind="testing_results").get()
    assert [(e["line"], e["column"]) for e in job.errors] == [
        (2, "ct_orf1ab"),
        (3, "tube_barcode"),
        (4, "result"),
        (6, "tube_barcode"),
    ]
    assert job.updated == 1 and Tube.objects.get().result == "negative"
    cli(
        "import-results",
        write_csv(
            tmp_path / "r2.csv", RESULTS[:4], [["T001", "positive", "2026-11-23 10:00:00", "LAB1"]]
        ),
    )
    job = ImportJob.objects.filter(kind="testing_results").order_by("-id").first()
    assert job.errors[0]["reason"] == "the tube is already reported as negative"


def test_missing_column_fails_the_file(city, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["tube_barcode", "id_number"], [["T1", "x"]])
    with pytest.raises(CommandError, match="missing columns: sampled_at, site_code"):
        cli("import-samples", "--round", "R1", path)
