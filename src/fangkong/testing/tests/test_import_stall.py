"""Issue 15: a lab's import never holds the sampling desks. While an import's transaction is open
(paused right after it wrote its tubes and swabs), a desk opens a tube and fills it, and both
scans commit; then the import commits with everything it had."""

import threading

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from rest_framework.test import APIClient

from fangkong.common.models import ImportJob
from fangkong.testing import bulk, engine
from fangkong.testing.models import Sample, Tube

from .factories import SiteFactory, make_round, write_csv

SAMPLES = ["tube_barcode", "id_number", "sampled_at", "site_code", "kind"]
RESULTS = ["tube_barcode", "result", "reported_at", "lab_code"]

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has one writer at a time by design: an open import holds every writer there",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def desk(make_user, tree):
    round_ = make_round("R1", tree["city"], pool_size=10)
    SiteFactory(code="SA", jurisdiction=tree["grid_a"])
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_authenticate(make_user(role="sampler", node="grid_a"))
    return client, round_


def _scan(client, barcode, person):
    body = {"round": "R1", "site": "SA", "barcode": barcode, "code": person.document_number}
    return client.post("/api/v1/testing/tubes/scan/", body, format="json")


class Paused:
    """Run a command on a thread of its own (its own connection) and hold its transaction open
    where `at` is called, until released."""

    def __init__(self, monkeypatch, module, name: str):
        self.inside, self.release, self.error = threading.Event(), threading.Event(), None
        real = getattr(module, name)

        def hold(*args, **kwargs):
            out = real(*args, **kwargs)
            self.inside.set()
            self.release.wait(30)
            return out

        monkeypatch.setattr(module, name, hold)

    def start(self, *command):
        def run():
            try:
                call_command(*command)
            except Exception as exc:  # reported by the test thread
                self.error = exc
            finally:
                self.inside.set()
                connections.close_all()

        self.thread = threading.Thread(target=run)
        self.thread.start()
        assert self.inside.wait(30)
        assert self.error is None, self.error

    def finish(self):
        self.release.set()
        self.thread.join(30)
        assert not self.thread.is_alive() and self.error is None, self.error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # A failed assertion inside must not leave the import holding its locks at teardown.
        self.release.set()
        self.thread.join(30)


def _bulk_paths(monkeypatch):
    # The paths a city's file takes (direct COPY of new tubes, registry read whole), at test size.
    monkeypatch.setattr(bulk.samples, "BULK_SAMPLES", 1)
    monkeypatch.setattr(bulk.samples, "BULK_TUBES", 1)
    monkeypatch.setattr(engine, "WHOLE_TABLE_KEYS", 0)


def _scans_commit_meanwhile(client, people):
    """Two scans (a new tube, then a second swab into it) under a 3 s lock timeout: a scan that
    waits for the import's locks fails instead of hanging (the time is not asserted: a loaded
    machine may take seconds for a request, the lock timeout is what pins it)."""
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '3s'")
    first = _scan(client, "DESK1", people["a"][2])
    second = _scan(client, "DESK1", people["b"][1])
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")
    assert (first.status_code, second.status_code) == (201, 201), (first.json(), second.json())
    assert second.json()["tube"]["members"] == 2
    assert Sample.objects.filter(tube__barcode="DESK1").count() == 2


def test_a_desk_scans_while_a_sample_import_is_open(desk, people, tmp_path, monkeypatch):
    client, round_ = desk
    _bulk_paths(monkeypatch)
    a, b = people["a"], people["b"]
    rows = [
        ["F001", a[0].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
        ["F001", a[1].document_number, "2026-11-23 08:00:30", "SITE1", "pool"],
        ["F002", b[0].document_number, "2026-11-23 08:01:00", "SITE2", "pool"],
        ["F003", "110101199003077777", "2026-11-23 08:01:00", "SITE2", "pool"],  # unknown
    ]
    path = write_csv(tmp_path / "s.csv", SAMPLES, rows)
    with Paused(monkeypatch, bulk.samples, "_rechecks_sampled") as paused:
        paused.start("testing", "import-samples", "--round", "R1", path)
        _scans_commit_meanwhile(client, people)
        # Committed: the desk's swabs are there for everyone, the import's are not yet.
        assert not Tube.objects.filter(barcode__startswith="F").exists()
        paused.finish()
    job = ImportJob.objects.get()
    assert (job.status, job.created, job.rejected) == ("done", 3, 1)
    members = dict(Tube.objects.values_list("barcode", "members"))
    assert members == {"F001": 2, "F002": 1, "DESK1": 2}
    assert Sample.objects.count() == 5
    # A re-import changes nothing, the desk's tube included.
    call_command("testing", "import-samples", "--round", "R1", path)
    again = ImportJob.objects.order_by("-id").first()
    assert (again.created, again.unchanged, again.rejected) == (0, 3, 1)
    assert Sample.objects.count() == 5


def test_a_desk_scans_while_a_result_import_is_open(desk, people, tmp_path, monkeypatch):
    client, round_ = desk
    _bulk_paths(monkeypatch)
    a, b = people["a"], people["b"]
    samples = [
        ["F001", a[0].document_number, "2026-11-23 08:00:00", "SITE1", "pool"],
        ["F002", b[0].document_number, "2026-11-23 08:01:00", "SITE1", "pool"],
    ]
    call_command(
        "testing",
        "import-samples",
        "--round",
        "R1",
        write_csv(tmp_path / "s.csv", SAMPLES, samples),
    )
    results = [
        ["F001", "negative", "2026-11-23 12:00:00", "LAB1"],
        ["F002", "positive", "2026-11-23 12:00:00", "LAB1"],
    ]
    with Paused(monkeypatch, bulk.results, "turnaround_add") as paused:
        paused.start("testing", "import-results", write_csv(tmp_path / "r.csv", RESULTS, results))
        _scans_commit_meanwhile(client, people)
        assert not Tube.objects.exclude(result="").exists()  # the results are not committed yet
        paused.finish()
    job = ImportJob.objects.order_by("-id").first()
    assert (job.kind, job.status, job.updated) == ("testing_results", "done", 2)
    assert dict(Tube.objects.values_list("barcode", "result")) == {
        "F001": "negative",
        "F002": "positive",
        "DESK1": "",
    }
    assert Tube.objects.get(barcode="DESK1").members == 2
