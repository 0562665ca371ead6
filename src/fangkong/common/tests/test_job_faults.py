"""Faults of the job queue on a real Redis and real worker processes: Redis restarting empty, a
worker killed mid-job, the worker living through a Redis restart; and the reaper, upload limit
and per-chunk audit that make those survivable."""

import datetime as dt
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

import fangkong
from fangkong.audit.models import AuditEntry
from fangkong.common import imports, jobs
from fangkong.common.models import ImportJob
from fangkong.people import idnumber
from fangkong.people.models import Person

GRID = "320102001001G01"


def people_csv(first: int, count: int) -> bytes:
    lines = ["id_number,name,grid_code"]
    for i in range(first, first + count):
        number = idnumber.make("320102", dt.date(1980, 1, 1) + dt.timedelta(days=i), i % 500)
        lines.append(f"{number},居民{i},{GRID}")
    return ("\n".join(lines) + "\n").encode()


def slow_people_import(*, actor, source, filename, marker):
    """The people import, except that its first run hangs after committing its first chunk of
    five rows (and says which process it is), so the test can kill it half-way."""
    from fangkong.people import services

    marker = Path(marker)
    if not marker.exists():
        progress = services.job_progress

        def hang_after_first_chunk(job, **counts):
            progress(job, **counts)
            marker.write_text(str(os.getpid()))
            time.sleep(120)

        # Only this forked work horse is changed; it is killed before it could matter.
        services.CHUNK_SIZE = 5
        services.job_progress = hang_after_first_chunk
    return services.people_import(actor=actor, source=source, filename=filename)


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """Our own redis-server (never the shared one), without persistence like production's:
    a restart keeps nothing."""

    def __init__(self, binary: str, folder: Path):
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        import redis

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)

        def up():
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                return False

        wait_for(up, 10, "redis-server")

    def kill(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self):
        self.kill()
        self.start()

    def client(self):
        import redis

        return redis.Redis.from_url(self.url)


@pytest.fixture
def redis_server(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    pytest.importorskip("rq")
    server = RedisServer(binary, tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def job_settings(settings, redis_server, tmp_path):
    settings.REDIS_URL = redis_server.url
    settings.JOB_QUEUE = "fault-test"
    settings.JOB_LEASE_SECONDS = 2
    settings.JOB_REAP_SECONDS = 1
    settings.JOB_MAX_ATTEMPTS = 3
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings


@pytest.fixture
def shared_db(transactional_db, tmp_path):
    """A database URL that worker processes share with this test. PostgreSQL's test database is
    shared as it is; SQLite's is in memory, so it is copied to a file and this process is pointed
    at the file until the test ends (then back at the memory database, which the flush empties)."""
    config = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
        yield f"postgres://{auth}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{config['NAME']}"
        return
    if connection.vendor != "sqlite":
        pytest.skip(f"no shared test database on {connection.vendor}")
    path = tmp_path / "shared.sqlite3"
    connection.ensure_connection()
    memory, name = connection.connection, config["NAME"]
    target = sqlite3.connect(path)
    memory.backup(target)
    target.close()
    # Set the memory connection aside unclosed: closing it would drop the in-memory database.
    connection.connection = None
    config["NAME"] = str(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        connection.close()
        config["NAME"] = name
        connection.connection = memory


class Workers:
    def __init__(self, database_url: str, settings, folder: Path):
        source = Path(fangkong.__file__).resolve().parents[1]
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(source), str(source.parent)]),
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "FANGKONG_DATABASE_URL": database_url,
            "FANGKONG_REDIS_URL": settings.REDIS_URL,
            "FANGKONG_JOB_QUEUE": settings.JOB_QUEUE,
            "FANGKONG_JOB_LEASE_SECONDS": str(settings.JOB_LEASE_SECONDS),
            "FANGKONG_JOB_REAP_SECONDS": str(settings.JOB_REAP_SECONDS),
        }
        self.folder, self.started = folder, []

    def start(self) -> subprocess.Popen:
        log = (self.folder / f"worker-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "fangkong.cli", "worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("worker-*.log"))
        )

    def stop_all(self):
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def api(make_user):
    def client_for(role="grid_worker", node="grid_a"):
        client = APIClient()
        client.user = make_user(role=role, node=node)
        client.force_authenticate(client.user)
        return client

    return client_for


def status_of(job_id: int) -> str:
    return ImportJob.objects.get(pk=job_id).status


@pytest.mark.django_db(transaction=True)
def test_queued_imports_survive_redis_restarts_and_a_killed_worker(
    shared_db, job_settings, redis_server, make_user, tmp_path
):
    user = make_user(role="grid_worker", node="grid_a")
    client = APIClient()
    client.force_authenticate(user)
    workers = Workers(shared_db, job_settings, tmp_path)
    try:
        # (a) Submitted while no worker runs, then Redis restarts and keeps nothing.
        response = client.post(
            "/api/v1/people/import/",
            {"file": SimpleUploadedFile("a.csv", people_csv(0, 30))},
            format="multipart",
        )
        assert response.status_code == 202
        first = response.json()["id"]
        assert status_of(first) == "queued"
        assert redis_server.client().llen("rq:queue:fault-test") == 1
        redis_server.restart()
        assert redis_server.client().llen("rq:queue:fault-test") == 0
        worker = workers.start()
        wait_for(lambda: status_of(first) == "done", 30, "the job lost by Redis to be done")
        assert ImportJob.objects.get(pk=first).created == 30

        # (b) A worker killed (with its work horse) in the middle of a job, and Redis with it.
        marker = tmp_path / "horse.pid"
        slow = jobs.import_submit(
            actor=user,
            upload=SimpleUploadedFile("b.csv", people_csv(100, 20)),
            kind="people",
            runner="fangkong.common.tests.test_job_faults.slow_people_import",
            params={"marker": str(marker)},
        )
        wait_for(marker.exists, 20, "the slow job to commit its first chunk")
        running = ImportJob.objects.get(pk=slow.pk)
        assert (running.status, running.attempts, running.created) == ("running", 1, 5)
        horse = int(marker.read_text())
        os.kill(horse, signal.SIGKILL)
        worker.kill()
        worker.wait()
        # Redis goes too, and the next worker starts before it is back: it waits, not exits.
        redis_server.kill()
        worker = workers.start()
        wait_for(
            lambda: "Redis is unreachable" in workers.logs(), 30, "the worker to find no Redis"
        )
        assert worker.poll() is None
        redis_server.start()
        wait_for(lambda: status_of(slow.pk) == "done", 30, "the interrupted job to be done")
        finished = ImportJob.objects.get(pk=slow.pk)
        # The second run writes nothing twice: the five people of the first are left unchanged.
        assert (finished.attempts, finished.created, finished.unchanged) == (2, 15, 5)
        chunks = AuditEntry.objects.filter(action="import", object_id=str(slow.pk))
        assert sorted(e.changes["created"] for e in chunks if "lines" in e.changes) == [5, 15]
        assert running.worker in finished.reason
        assert not Path(finished.file_path).exists()

        # (c) The same worker process lives through Redis being away and takes the next job.
        redis_server.kill()
        time.sleep(3)
        assert worker.poll() is None
        redis_server.start()
        response = client.post(
            "/api/v1/people/import/",
            {"file": SimpleUploadedFile("c.csv", people_csv(200, 10))},
            format="multipart",
        )
        assert response.status_code == 202
        third = response.json()["id"]
        wait_for(lambda: status_of(third) == "done", 30, "a job queued after the restart")
        assert worker.poll() is None
        assert Person.objects.count() == 60

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0

    except BaseException:
        print(workers.logs())
        raise
    finally:
        workers.stop_all()


def test_an_upload_is_recorded_even_while_redis_is_down(
    api, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.MEDIA_ROOT = tmp_path
    pytest.importorskip("rq")
    client = api()
    with django_capture_on_commit_callbacks(execute=True) as pushes:
        response = client.post(
            "/api/v1/people/import/",
            {"file": SimpleUploadedFile("p.csv", people_csv(0, 3))},
            format="multipart",
        )
    assert len(pushes) == 1
    # The row is the job; the reaper queues it once Redis is back (part (a) above).
    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.filename) == ("queued", "p.csv")
    assert Path(job.file_path).exists()


def test_an_upload_above_the_limit_is_refused_with_413(api, settings, tmp_path):
    settings.MAX_UPLOAD_MB, settings.MAX_UPLOAD_BYTES = 1, 100
    settings.MEDIA_ROOT = tmp_path
    response = api().post(
        "/api/v1/people/import/",
        {"file": SimpleUploadedFile("p.csv", people_csv(0, 10))},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert not ImportJob.objects.exists() and not list(tmp_path.rglob("*.csv"))


def _expire(job: ImportJob, *, attempts: int, worker: str = "gone:1") -> None:
    past = timezone.now() - dt.timedelta(seconds=30)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", attempts=attempts, worker=worker, heartbeat_at=past, lease_until=past
    )


def test_reaper_requeues_a_job_whose_worker_stopped_then_fails_it_after_the_last_run(
    api, job_settings, redis_server, django_capture_on_commit_callbacks
):
    client = api()
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.import_submit(
            actor=client.user,
            upload=SimpleUploadedFile("p.csv", people_csv(0, 3)),
            kind="people",
            runner="fangkong.people.services.people_import",
        )
    queue = redis_server.client()
    assert queue.llen("rq:queue:fault-test") == 1
    _expire(job, attempts=1)
    assert jobs.reap() == {"requeued": 1, "failed": 0, "pushed": 0}
    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts) == ("queued", "", 1)
    assert "gone:1" in job.reason
    assert queue.llen("rq:queue:fault-test") == 2

    _expire(job, attempts=3, worker="gone:2")
    assert jobs.reap() == {"requeued": 0, "failed": 1, "pushed": 0}
    job.refresh_from_db()
    assert job.status == "failed" and job.finished_at is not None
    assert "gone:2" in job.message and "3" in job.message
    assert not Path(job.file_path).exists()
    # A run that was taken back and then finishes is left alone by the next round.
    assert jobs.reap() == {"requeued": 0, "failed": 0, "pushed": 0}


def test_a_killed_cli_import_is_failed_by_worker_reap(tree, settings, capsys):
    settings.REDIS_URL = ""
    job = imports.job_start(kind="people", filename="big.csv", actor=None, jurisdiction_path="/")
    assert job.status == "running" and job.lease_until > timezone.now()
    _expire(job, attempts=1, worker="cli:42")
    call_command("worker", "--reap")
    job.refresh_from_db()
    assert job.status == "failed" and "cli:42" in job.message
    assert "failed 1" in capsys.readouterr().out


def test_each_chunk_of_a_people_import_is_audited_with_its_rows(tree, make_user, monkeypatch):
    from fangkong.people import services

    calls = []

    def killed_after_first_chunk(job, **counts):
        calls.append(counts)
        raise KeyboardInterrupt  # what a killed process leaves: chunk 1 committed, no more

    monkeypatch.setattr(services, "CHUNK_SIZE", 4)
    monkeypatch.setattr(services, "job_progress", killed_after_first_chunk)
    actor = make_user(role="hq_staff", node="district")
    with pytest.raises(KeyboardInterrupt):
        services.people_import(actor=actor, source=_upload(people_csv(0, 10)), filename="p.csv")
    job = ImportJob.objects.get()
    assert Person.objects.count() == 4
    entry = AuditEntry.objects.get(action="import", object_id=str(job.pk))
    assert (entry.actor_id, entry.object_type) == (actor.pk, "people.person")
    assert entry.changes == {"lines": [2, 5], "created": 4, "updated": 0}


def _upload(content: bytes):
    return SimpleUploadedFile("p.csv", content)
