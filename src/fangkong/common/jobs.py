"""Background jobs: a Redis list when FANGKONG_REDIS_URL is set, otherwise run in-process.

A job is a dotted path to a function plus JSON keyword arguments. `fangkong worker` pops and runs
them; several workers on several machines can share one Redis. Without Redis (the demo) the job
runs at once in the caller's process, so behaviour is the same, only slower for the caller.
"""

import importlib
import json
import logging
import time

from django.conf import settings

QUEUE = "fangkong:jobs"
log = logging.getLogger(__name__)


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def enqueue(func: str, **kwargs) -> bool:
    """Queue `func(**kwargs)`; returns True when queued, False when it already ran in-process."""
    if not settings.REDIS_URL:
        run(func, kwargs)
        return False
    _redis().rpush(QUEUE, json.dumps({"func": func, "kwargs": kwargs, "queued_at": time.time()}))
    return True


def run(func: str, kwargs: dict):
    module, _, name = func.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


def work(*, burst: bool = False, timeout: int = 5) -> int:
    """Run queued jobs; with burst, stop when the queue is empty. Returns how many ran."""
    connection = _redis()
    done = 0
    while True:
        item = connection.blpop([QUEUE], timeout=timeout)
        if item is None:
            if burst:
                return done
            continue
        job = json.loads(item[1])
        try:
            run(job["func"], job["kwargs"])
        except Exception:
            # One bad job must not stop the worker; the job records its own failure.
            log.exception("job %s failed", job["func"])
        done += 1
