"""The shared rate-limit counters (fangkong.common.throttle) that logins, venue scans and the
voluntary-testing pages count in: the same arithmetic on the database store and on Redis."""

from __future__ import annotations

import socket
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings

from fangkong.common import throttle


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def _arithmetic():
    assert throttle.hit(["t:a", "t:b"], 90) == [1, 1]
    assert throttle.hit(["t:a", "t:b"], 90) == [2, 2]
    assert throttle.hit(["t:a", "t:c"], 90) == [3, 1]
    throttle.bump("t:s", 300)
    throttle.bump("t:s", 300)
    assert throttle.counts(["t:s", "t:missing"]) == {"t:s": 2, "t:missing": 0}
    throttle.lower("t:s", 1, 300)
    assert throttle.counts(["t:s"]) == {"t:s": 1}
    throttle.lower("t:s", 5, 300)
    assert caches["shared"].get("t:s") is None  # gone at zero, not negative


@pytest.mark.django_db
def test_counters_on_the_database_store():
    caches["shared"].clear()
    _arithmetic()


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_counters_on_redis_one_client_kept_per_pool():
    redis = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # alone on a Redis others may share
    }
    with override_settings(CACHES={**settings.CACHES, "shared": redis}):
        try:
            _arithmetic()
            store = caches["shared"]
            ttl = store._cache.get_client().ttl(store.make_and_validate_key("t:a"))
            assert 85 <= ttl <= 90
            first = throttle._redis(store, "t:a")
            assert throttle._redis(store, "t:a") is first
        finally:
            caches["shared"].delete_many(["t:a", "t:b", "t:c", "t:s"])
