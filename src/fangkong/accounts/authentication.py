"""API token authentication with a short memory.

A sampling desk sends a scan every few seconds with the same token, and each request spent one
of its three database round trips on finding that token again; under a city's morning load the
round trips queue behind each other on the database. Each process remembers a token's user for
TOKEN_TTL seconds, so a deleted token or a deactivated account is refused at the latest that
long afterwards (the account's own checks, role and jurisdiction, are read from the same user)."""

from __future__ import annotations

import threading
import time

from rest_framework.authentication import TokenAuthentication

TOKEN_TTL = 10.0  # seconds
_MAX_TOKENS = 10_000  # a city's desks; beyond this the memory starts again


class RememberingTokenAuthentication(TokenAuthentication):
    _known: dict[str, tuple[float, object, object]] = {}
    _lock = threading.Lock()

    def authenticate_credentials(self, key):
        now = time.monotonic()
        hit = self._known.get(key)
        if hit is not None and now - hit[0] < TOKEN_TTL:
            return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)
        with self._lock:
            if len(self._known) >= _MAX_TOKENS:
                self._known.clear()
            self._known[key] = (now, user, token)
        return user, token

    @classmethod
    def forget(cls) -> None:
        with cls._lock:
            cls._known.clear()
