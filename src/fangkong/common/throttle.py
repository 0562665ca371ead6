"""Rate-limit counters every worker process shares: the login throttle (accounts), the venue-code
scans (places) and the residents' voluntary-testing pages (voluntary) all count here.

The counters live in the shared cache (``CACHES["shared"]``): Redis in production, a database
table without it. What a caller does when the store is down is its own rule (a login or a
results lookup is refused, a venue scan goes through) — this module only counts and raises
STORE_ERRORS.

Two kinds of counter:
- ``bump``: a sliding window, each change keeps the counter ``window`` seconds longer (logins,
  voluntary testing).
- ``hit``: fixed windows whose keys the caller names per period (``…:<minute>``), every counter
  added to and read back in one pipelined Redis round trip (venue scans, 500 a second at peak).
"""

from __future__ import annotations

from django.core.cache import caches
from django.db import DatabaseError
from redis.exceptions import RedisError

# What a store that is down raises: Redis' connection and timeout errors, the database cache's
# errors, and a socket's own.
STORE_ERRORS = (RedisError, DatabaseError, OSError, ConnectionError, TimeoutError)

# Django's RedisCache builds a new redis.Redis (with its ~170 response callbacks) on every
# get_client(); the hot path keeps one per store and connection pool.
_clients: dict[int, tuple[object, object]] = {}


def store():
    return caches["shared"]


def counts(keys: list[str]) -> dict[str, int]:
    """The counters' current values (0 for a missing one)."""
    found = store().get_many(keys)
    return {key: int(found.get(key, 0)) for key in keys}


def bump(key: str, window: int) -> None:
    """Add one, and keep the counter `window` seconds from now."""
    cache = store()
    if cache.add(key, 1, window):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return
    cache.touch(key, window)


def lower(key: str, by: int, window: int) -> None:
    """Take `by` back (a success forgiving failures); gone at zero."""
    cache = store()
    try:
        left = cache.decr(key, by)
    except ValueError:  # already expired
        return
    if left <= 0:
        cache.delete(key)
    else:
        cache.touch(key, window)


def _redis(cache, key: str):
    """A redis.Redis client for the shared cache, or None when it is not Redis."""
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    if get_client is None:
        return None
    pool = backend._get_connection_pool(True) if hasattr(backend, "_get_connection_pool") else None
    held = _clients.get(id(backend))
    if held is not None and pool is not None and held[0] is pool:
        return held[1]
    client = get_client(key, write=True)
    if pool is not None:
        _clients[id(backend)] = (pool, client)
    return client


def hit(keys: list[str], window: int) -> list[int]:
    """Add one to each counter (each hit keeps it `window` seconds) and return the new counts: on Redis one pipelined round trip (INCR and EXPIRE of every key),
    elsewhere the cache API's add and incr."""
    cache = store()
    client = _redis(cache, keys[0])
    if client is not None:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            full = cache.make_and_validate_key(key)
            pipe.incr(full)
            pipe.expire(full, window)
        return [int(n) for n in pipe.execute()[::2]]
    out = []
    for key in keys:
        if cache.add(key, 1, window):
            out.append(1)
            continue
        try:
            out.append(cache.incr(key))
        except ValueError:  # expired between add and incr: a new period
            cache.set(key, 1, window)
            out.append(1)
    return out
