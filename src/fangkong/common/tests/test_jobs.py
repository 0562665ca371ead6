"""Background jobs run in-process without Redis, and through a real Redis queue with a worker."""

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


def test_with_redis_a_worker_runs_queued_jobs(settings):
    settings.REDIS_URL = "redis://127.0.0.1:6379/15"
    client = _redis_or_skip(settings.REDIS_URL)
    client.delete(jobs.QUEUE)
    CALLS.clear()
    assert jobs.enqueue("fangkong.common.tests.test_jobs.record", value=1) is True
    jobs.enqueue("fangkong.common.tests.test_jobs.explode")
    jobs.enqueue("fangkong.common.tests.test_jobs.record", value=2)
    assert CALLS == [] and client.llen(jobs.QUEUE) == 3
    assert jobs.work(burst=True, timeout=1) == 3
    assert CALLS == [1, 2]
