"""Background jobs run in-process without Redis, and through RQ on a real Redis with a worker."""

import uuid

import pytest

from fangkong.common import jobs

CALLS: list[int] = []


def record(*, value: int) -> None:
    CALLS.append(value)


def explode(**kwargs) -> None:
    raise RuntimeError("bad job")


def _redis_or_skip(url: str):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {url}")
    return client


def test_without_redis_jobs_run_in_process(settings):
    settings.REDIS_URL = ""
    CALLS.clear()
    assert jobs.enqueue("fangkong.common.tests.test_jobs.record", value=7) is False
    assert CALLS == [7]


def test_with_redis_a_worker_runs_queued_jobs_and_survives_a_bad_one(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    settings.JOB_QUEUE = f"test-{uuid.uuid4().hex}"
    client = _redis_or_skip(settings.REDIS_URL)
    CALLS.clear()
    try:
        assert jobs.enqueue("fangkong.common.tests.test_jobs.record", value=1) is True
        jobs.enqueue("fangkong.common.tests.test_jobs.explode")
        jobs.enqueue("fangkong.common.tests.test_jobs.record", value=2)
        assert CALLS == [] and client.llen(f"rq:queue:{settings.JOB_QUEUE}") == 3
        assert jobs.work(burst=True, fork=False) == 3
        assert CALLS == [1, 2]
    finally:
        for key in client.scan_iter(f"rq:*{settings.JOB_QUEUE}*"):
            client.delete(key)
