"""Background jobs: RQ on Redis when FANGKONG_REDIS_URL is set, otherwise run in-process.

An uploaded import is an ImportJob row first and a queue entry second: the row (status queued,
the stored file, what to run) is written before the queue is told, so a Redis that dies or
restarts empty loses nothing. A worker claims the row (queued -> running) with a lease it renews
from a heartbeat thread; `reap` gives back jobs whose lease ran out (queued again, or failed after
JOB_MAX_ATTEMPTS runs with the reason) and queues again rows the queue no longer holds. Every
worker reaps when it starts and every JOB_REAP_SECONDS; `fangkong worker --reap` reaps once.

Other jobs (co-location runs, statistics) are a dotted function path plus keyword arguments,
through `enqueue`. Without Redis (the demo) every job runs at once in the caller's process.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import importlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from . import errors, priority
from .models import ImportJob

log = logging.getLogger(__name__)

EXECUTE = "fangkong.common.jobs.import_execute"
# RQ's own records are for its dashboard only; the database holds the outcome.
RESULT_TTL = 3600
FAILURE_TTL = 7 * 24 * 3600

# The job a worker claimed, for imports.job_start to carry on instead of opening a new row.
_claimed: contextvars.ContextVar[ImportJob | None] = contextvars.ContextVar("claimed", default=None)
_leased: contextvars.ContextVar[int | None] = contextvars.ContextVar("leased", default=None)


def _redis():
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    # Short timeouts and few retries: a request that queues must not hang on a Redis that is
    # gone (its job is recorded; the reaper queues it later).
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=3,
        socket_timeout=10,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.1), 2),
    )


def _queue(conn=None):
    from rq import Queue

    return Queue(settings.JOB_QUEUE, connection=conn or _redis())


def _redis_errors() -> tuple[type[Exception], ...]:
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def redis_error() -> type[Exception]:
    import redis

    return redis.exceptions.RedisError


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enqueue(func: str, **kwargs) -> bool:
    """Queue `func(**kwargs)`; returns True when queued, False when it already ran in-process."""
    if not settings.REDIS_URL:
        run(func, kwargs)
        return False
    _queue().enqueue(
        func,
        kwargs=kwargs,
        job_timeout=settings.JOB_TIMEOUT_SECONDS,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
    )
    return True


def run(func: str, kwargs: dict):
    from .replica import primary

    module, _dot, name = func.rpartition(".")
    # A job run in-process by a page request reads what it works on from the primary, as a
    # worker would: the replica may not have the rows the request just wrote.
    with primary():
        return getattr(importlib.import_module(module), name)(**kwargs)


# --- uploads ---------------------------------------------------------------------------------


def upload_check(upload) -> None:
    """Refuse a file above FANGKONG_MAX_UPLOAD_MB before anything reads it."""
    if upload.size is not None and upload.size > settings.MAX_UPLOAD_BYTES:
        raise errors.TooLarge(
            _("The file is %(size).1f MB; at most %(limit)s MB may be uploaded.")
            % {"size": upload.size / 1024 / 1024, "limit": settings.MAX_UPLOAD_MB}
        )


def import_submit(
    *, actor, upload, kind: str, runner: str, params: dict | None = None
) -> ImportJob:
    """Run the import of an uploaded file: at once without Redis (the finished job), or as a job
    (the queued job, recorded before it is queued). `runner` is the dotted path of an importer
    taking actor, source, filename and `params`; it must go through imports.run_import."""
    from .scope import operator_or_actor_path

    upload_check(upload)
    params = params or {}
    if not settings.REDIS_URL:
        return run(runner, {"actor": actor, "source": upload, "filename": upload.name, **params})
    path = _store(upload)
    now = timezone.now()
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                kind=kind,
                filename=os.path.basename(upload.name)[:255],
                actor=actor,
                jurisdiction_path=operator_or_actor_path(actor) or "",
                status=ImportJob.Status.QUEUED,
                runner=runner,
                params=params,
                file_path=str(path),
                queue_id=uuid.uuid4().hex,
                queued_at=now,
            )
            transaction.on_commit(lambda: _push(job))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job


def _store(upload) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{Path(upload.name).suffix.lower()}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return path


def _push(job: ImportJob, conn=None) -> bool:
    """Tell the queue; a Redis that is down only delays the job (the reaper queues it later)."""
    try:
        _queue(conn).enqueue(
            EXECUTE,
            kwargs={"job_id": job.pk},
            job_id=job.queue_id,
            job_timeout=settings.JOB_TIMEOUT_SECONDS,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"import job {job.pk} ({job.kind}: {job.filename})",
        )
    except redis_error() as exc:
        log.warning("import job %s recorded, not queued (Redis: %s); a worker will", job.pk, exc)
        return False
    return True


# --- running ---------------------------------------------------------------------------------


def claimed_job() -> ImportJob | None:
    return _claimed.get()


def lease_fields() -> dict:
    """Who holds a job run in-process (CLI, demo) and until when, for the reaper."""
    now = timezone.now()
    return {
        "worker": worker_name(),
        "attempts": 1,
        "heartbeat_at": now,
        "lease_until": now + dt.timedelta(seconds=settings.JOB_LEASE_SECONDS),
    }


@contextlib.contextmanager
def lease(job: ImportJob):
    """Renew the job's lease from a thread while the body runs, so a live worker keeps its job
    however long one chunk takes and a dead one loses it within JOB_LEASE_SECONDS."""
    if _leased.get() == job.pk or connection.in_atomic_block:
        # Nested, or inside the caller's transaction: nobody else could see the row meanwhile,
        # and a heartbeat waiting on its lock would never return.
        yield
        return
    stop = threading.Event()
    seconds = settings.JOB_LEASE_SECONDS
    holder = job.worker

    def beat():
        try:
            while not stop.wait(max(seconds / 3, 0.2)):
                now = timezone.now()
                try:
                    kept = ImportJob.objects.filter(
                        pk=job.pk, status=ImportJob.Status.RUNNING, worker=holder
                    ).update(heartbeat_at=now, lease_until=now + dt.timedelta(seconds=seconds))
                except DatabaseError as exc:
                    log.warning("import job %s: heartbeat not written: %s", job.pk, exc)
                    continue
                if not kept:
                    log.warning("import job %s is no longer held by %s", job.pk, holder)
                    return
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"lease-{job.pk}", daemon=True)
    token = _leased.set(job.pk)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=seconds)
        _leased.reset(token)


def import_execute(*, job_id: int) -> str:
    """The queued job: claim the row, run its importer on the stored file, and leave the row done
    or failed. A row that is not queued any more (done, or claimed by another worker after a
    duplicate queue entry) is left alone, so running a queue entry twice is harmless."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING,
        attempts=F("attempts") + 1,
        worker=worker_name(),
        heartbeat_at=now,
        lease_until=now + dt.timedelta(seconds=settings.JOB_LEASE_SECONDS),
    )
    if not claimed:
        log.info("import job %s is not queued; nothing to do", job_id)
        return "skipped"
    job = ImportJob.objects.select_related("actor__jurisdiction").get(pk=job_id)
    token = _claimed.set(job)
    try:
        # Background priority (FANGKONG_IMPORT_NICE) for this process and its database backends:
        # a worker on the web servers' host leaves the CPU to the desks' requests first.
        with priority.background(), lease(job):
            try:
                if job.actor_id is None:
                    # Never run an upload as the operator because its uploader was deleted.
                    raise PermissionError(_("the account that uploaded the file no longer exists"))
                run(
                    job.runner,
                    {"actor": job.actor, "source": job.file_path, "filename": job.filename}
                    | job.params,
                )
            except Exception as exc:
                log.exception("import job %s failed", job_id)
                job.refresh_from_db()
                if job.status == ImportJob.Status.RUNNING:
                    # The exception's text goes to the log only: it may quote a row's ID number.
                    job.status = ImportJob.Status.FAILED
                    job.message = (
                        str(exc)
                        if isinstance(exc, PermissionError)
                        else _("the import stopped at an internal error")
                    )
                    job.finished_at = timezone.now()
                    job.save(update_fields=["status", "message", "finished_at"])
    finally:
        _claimed.reset(token)
    job.refresh_from_db(fields=["status"])
    if job.status != ImportJob.Status.RUNNING:
        Path(job.file_path).unlink(missing_ok=True)
    return job.status


# --- reaping ---------------------------------------------------------------------------------


def reap() -> dict:
    """Give back what dead workers held and queue again what Redis lost.

    A running job whose lease ran out is queued again while it has runs left (the reason kept),
    otherwise failed with the reason; an in-process run (CLI, demo) cannot be re-run and fails.
    A queued job the queue does not hold (Redis restarted empty, or was down when it was
    submitted) is queued again. Safe to run from many workers at once: every change is a
    conditional update that only one of them wins."""
    now = timezone.now()
    counts = {"requeued": 0, "failed": 0, "pushed": 0}
    conn = _redis() if settings.REDIS_URL else None
    for job in ImportJob.objects.filter(status=ImportJob.Status.RUNNING, lease_until__lt=now):
        reason = _("the worker %(worker)s stopped (last heartbeat %(at)s)") % {
            "worker": job.worker or "?",
            "at": timezone.localtime(job.heartbeat_at).strftime("%Y-%m-%d %H:%M:%S")
            if job.heartbeat_at
            else "-",
        }
        held = ImportJob.objects.filter(
            pk=job.pk, status=ImportJob.Status.RUNNING, lease_until=job.lease_until
        )
        if conn is not None and job.runner and job.attempts < settings.JOB_MAX_ATTEMPTS:
            job.queue_id = uuid.uuid4().hex
            if held.update(
                status=ImportJob.Status.QUEUED,
                reason=reason,
                queue_id=job.queue_id,
                queued_at=now,
                worker="",
                lease_until=None,
            ):
                counts["requeued"] += 1
                log.warning("import job %s: %s; queued again", job.pk, reason)
                _push(job, conn)
            continue
        message = reason
        if job.runner:
            message = _("%(reason)s; gave up after %(attempts)s runs") % {
                "reason": reason,
                "attempts": job.attempts,
            }
        if held.update(
            status=ImportJob.Status.FAILED, reason=reason, message=message, finished_at=now
        ):
            counts["failed"] += 1
            log.warning("import job %s failed: %s", job.pk, message)
            if job.file_path:
                Path(job.file_path).unlink(missing_ok=True)
    if conn is not None:
        counts["pushed"] = _push_lost(conn, now)
    return counts


def _push_lost(conn, now) -> int:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    alive = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
    # Give a submission time to reach the queue after its commit before calling it lost.
    settled = now - dt.timedelta(seconds=settings.JOB_LEASE_SECONDS)
    pushed = 0
    for job in ImportJob.objects.filter(status=ImportJob.Status.QUEUED, queued_at__lt=settled):
        try:
            status = Job.fetch(job.queue_id, connection=conn).get_status() if job.queue_id else None
        except NoSuchJobError:
            status = None
        if status in alive:
            continue
        old, job.queue_id = job.queue_id, uuid.uuid4().hex
        if ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED, queue_id=old).update(
            queue_id=job.queue_id, queued_at=now
        ):
            log.warning("import job %s was not in the queue; queued again", job.pk)
            pushed += _push(job, conn)
    return pushed


def _reap_logged() -> None:
    try:
        counts = reap()
    except Exception:
        # A database or Redis outage must not stop the worker; the next round reaps.
        log.exception("reaping import jobs failed")
        return
    if any(counts.values()):
        log.warning("reaped import jobs: %s", counts)


# --- the worker ------------------------------------------------------------------------------


def _worker_classes():
    from rq import SimpleWorker, Worker

    class Reaping:
        """RQ's worker plus the reaper in its maintenance round, and a flag for a requested stop
        (RQ returns from work() the same way for a stop and for an error)."""

        forks = True
        stopping = False
        executed = 0

        def run_maintenance_tasks(self):
            super().run_maintenance_tasks()
            _reap_logged()

        def handle_warm_shutdown_request(self):
            self.stopping = True
            super().handle_warm_shutdown_request()

        def execute_job(self, job, queue):
            if self.forks:
                # The forked horse must open its own database connections, not share ours.
                connections.close_all()
            self.executed += 1
            return super().execute_job(job, queue)

    class ForkingWorker(Reaping, Worker):
        pass

    class InProcessWorker(Reaping, SimpleWorker):
        forks = False

    return ForkingWorker, InProcessWorker


def work(*, burst: bool = False, fork: bool = True, max_wait: float = 30.0) -> int:
    """Run queued jobs until SIGTERM/SIGINT (with burst: until the queue is empty); returns how
    many ran. Each job runs in a forked process (fork=False: in this one, for tests), so its
    memory goes back to the system when it ends. Redis going away does not stop the loop: it
    waits, 1 s doubling up to `max_wait`, and carries on with a new RQ worker when Redis is back."""
    forking, in_process = _worker_classes()
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    def own_signals():
        # RQ installs its own handlers in work(); between two worker lives ours decide.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)

    own_signals()
    done, wait = 0, 1.0
    while not stop.is_set():
        worker = None
        try:
            conn = _redis()
            conn.ping()
            worker = (forking if fork else in_process)(
                [_queue(conn)],
                connection=conn,
                # The worker blocks on the queue for worker_ttl - 15 s between maintenance rounds.
                maintenance_interval=settings.JOB_REAP_SECONDS,
                worker_ttl=settings.JOB_REAP_SECONDS + 15,
            )
            started = time.monotonic()
            worker.work(burst=burst, logging_level="INFO")
            if time.monotonic() - started > max_wait:
                wait = 1.0  # it ran well for a while: the next outage starts the backoff afresh
        except _redis_errors() as exc:
            log.warning("Redis is unreachable (%s); trying again in %.0f s", exc, wait)
        finally:
            own_signals()
            if worker is not None:
                done += worker.executed
        if worker is not None and (worker.stopping or burst):
            break
        if worker is not None:
            log.warning("the RQ worker quit; starting another in %.0f s", wait)
        if stop.wait(wait):
            break
        wait = min(wait * 2, max_wait)
    return done
