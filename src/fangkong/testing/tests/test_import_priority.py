"""Imports at background priority (common/priority.py, FANGKONG_IMPORT_NICE): the CLI imports and
the job worker run nicer, their PostgreSQL backend too where allowed, and get their priority back;
a backend that may not be reniced changes nothing in the import."""

import io
import os
import re
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from fangkong.accounts.tests.factories import UserFactory
from fangkong.common import jobs, priority
from fangkong.common.models import ImportJob
from fangkong.testing import bulk
from fangkong.testing.models import Sample

from .factories import write_csv

SAMPLES = ["tube_barcode", "id_number", "sampled_at", "site_code"]
ROOT = os.geteuid() == 0  # only root (CAP_SYS_NICE) may raise a priority back


def nice_now(tid: int = 0) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


@pytest.fixture
def target():
    before = nice_now()
    if before >= 17:
        pytest.skip("the test process already runs at the lowest priority")
    yield before + 3
    if ROOT:
        assert nice_now() == before  # given back


def test_every_thread_runs_nicer_inside_the_block_and_new_threads_too(target):
    seen = {}
    ready, go = threading.Event(), threading.Event()

    def started_before():
        ready.set()
        go.wait(5)
        seen["before"] = nice_now()

    def started_inside():
        seen["inside"] = nice_now()

    early = threading.Thread(target=started_before)
    early.start()
    ready.wait(5)
    with priority.background(nice=target) as report:
        seen["main"] = nice_now()
        go.set()
        early.join()
        late = threading.Thread(target=started_inside)
        late.start()
        late.join()
    assert seen == {"main": target, "before": target, "inside": target}
    assert report["nice"] == target


def test_nice_zero_leaves_everything_as_it_is(settings):
    settings.FANGKONG_IMPORT_NICE = 0
    before = nice_now()
    with priority.background() as report:
        assert nice_now() == before
    assert report == {"nice": 0, "backends": 0, "reniced": 0}


@pytest.fixture
def samples_file(tree, people, tmp_path):
    call_command("testing", "round-create", "--code", "R1", "--name", "r", "--scope", "320102")
    a = people["a"]
    return write_csv(
        tmp_path / "s.csv",
        SAMPLES,
        [
            ["T001", a[0].document_number, "2026-11-23 08:00:00", "SITE1"],
            ["T001", a[1].document_number, "2026-11-23 08:00:30", "SITE1"],
        ],
    )


def import_with_spy(monkeypatch, path) -> tuple[dict, str]:
    """`fangkong testing -v 2 import-samples`, noting the niceness of this process and of the
    database backend while the import runs."""
    seen = {}
    real = bulk.import_samples

    def spy(**kwargs):
        seen["process"] = nice_now()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                seen["pid"] = cursor.fetchone()[0]
            seen["backend"] = nice_now(seen["pid"])
        return real(**kwargs)

    monkeypatch.setattr(bulk, "import_samples", spy)
    err = io.StringIO()
    call_command("testing", "import-samples", "--round", "R1", path, verbosity=2, stderr=err)
    return seen, err.getvalue()


def test_the_cli_import_runs_at_the_configured_niceness(
    samples_file, target, settings, monkeypatch
):
    settings.FANGKONG_IMPORT_NICE = target
    seen, err = import_with_spy(monkeypatch, samples_file)
    assert seen["process"] == target
    assert Sample.objects.count() == 2  # the import itself is the same
    said = re.search(r"priority: nice (\d+), (\d+) of (\d+) database backends reniced", err)
    assert said and int(said[1]) == target
    if connection.vendor == "postgresql" and ROOT:
        # Local server, allowed: the backend ran at the import's niceness, and has it back.
        assert seen["backend"] == target
        assert (said[2], said[3]) == ("1", "1")
        assert nice_now(seen["pid"]) < target


def test_a_backend_that_may_not_be_reniced_is_tolerated(
    samples_file, target, settings, monkeypatch, caplog
):
    settings.FANGKONG_IMPORT_NICE = target
    real = os.setpriority

    def refuse_others(which, who, value):
        if str(who) not in os.listdir("/proc/self/task"):
            raise PermissionError(1, "Operation not permitted")
        real(which, who, value)

    monkeypatch.setattr(os, "setpriority", refuse_others)
    caplog.set_level("INFO", logger="fangkong.common.priority")
    seen, err = import_with_spy(monkeypatch, samples_file)
    assert seen["process"] == target
    assert Sample.objects.count() == 2
    assert re.search(r"priority: nice \d+, 0 of \d+ database backends reniced", err)
    if connection.vendor == "postgresql":
        assert seen["backend"] < target  # tried, refused, left as it was
        assert "keeps its priority (" in caplog.text
    else:
        assert "not a local PostgreSQL" in caplog.text


def test_a_remote_database_is_not_reniced(settings, monkeypatch, caplog):
    monkeypatch.setitem(connection.settings_dict, "HOST", "db.example.internal")
    caplog.set_level("INFO", logger="fangkong.common.priority")
    assert priority.backend_pid(connection) is None
    assert priority.lower_backend(connection, 10) is None
    assert "keeps its priority" in caplog.text


SEEN: dict = {}


def record_priority(*, actor, source, filename, **params):
    """A job runner that only notes the niceness it runs at."""
    SEEN["nice"] = nice_now()


@pytest.mark.django_db
def test_the_job_worker_runs_an_uploaded_import_at_background_priority(target, settings, tmp_path):
    settings.FANGKONG_IMPORT_NICE = target
    stored = tmp_path / "upload.csv"
    stored.write_text("tube_barcode\n")
    job = ImportJob.objects.create(
        kind="testing_samples",
        filename="upload.csv",
        actor=UserFactory(),
        status=ImportJob.Status.QUEUED,
        runner=f"{__name__}.record_priority",
        file_path=str(stored),
        queue_id="q-priority",
        queued_at=timezone.now(),
    )
    SEEN.clear()
    jobs.import_execute(job_id=job.pk)
    assert SEEN == {"nice": target}
