"""API token authentication with a short memory, and token expiry.

A sampling desk sends a scan every few seconds with the same token, and each request spent one
of its three database round trips on finding that token again; under a city's morning load the
round trips queue behind each other on the database. Each process remembers a token's user for
TOKEN_TTL seconds. This process forgets at once when a token is deleted (revoked, expired, a
password changed) or an account saved (accounts.signals); other processes refuse a deleted
token or a deactivated account at the latest TOKEN_TTL afterwards. Expiry is checked on every
request, remembered or not (the account's own checks, role and jurisdiction, are read from the
same user)."""

from __future__ import annotations

import threading
import time

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .services import token_expired

TOKEN_TTL = 10.0  # seconds
_MAX_TOKENS = 10_000  # a city's desks; beyond this the memory starts again


class TokenRefused(exceptions.APIException):
    """401 with `WWW-Authenticate: Token`. DRF answers AuthenticationFailed with a 403 when
    session authentication comes first; a client holding a dead token must be told to log in
    again, not that its role may not do this."""

    status_code = 401
    default_code = "authentication_failed"
    default_detail = _("Invalid token.")
    auth_header = "Token"


class TokenExpired(TokenRefused):
    default_code = "token_expired"
    default_detail = _("The API token has expired; log in again.")


class RememberingTokenAuthentication(TokenAuthentication):
    _known: dict[str, tuple[float, object, object]] = {}
    _lock = threading.Lock()

    def authenticate_credentials(self, key):
        now = time.monotonic()
        hit = self._known.get(key)
        # A remembered token past its expiry is looked up again: another process's login may
        # have extended it.
        if hit is not None and now - hit[0] < TOKEN_TTL and not token_expired(hit[2]):
            return hit[1], hit[2]
        try:
            user, token = super().authenticate_credentials(key)
        except exceptions.AuthenticationFailed as exc:
            raise TokenRefused(exc.detail) from exc
        if token_expired(token):
            token.delete()
            raise TokenExpired()
        with self._lock:
            if len(self._known) >= _MAX_TOKENS:
                self._known.clear()
            self._known[key] = (now, user, token)
        return user, token

    @classmethod
    def forget(cls) -> None:
        with cls._lock:
            cls._known.clear()
