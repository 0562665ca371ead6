"""The one domain error: services and selectors raise it, the API and the pages translate it once.

Every refusal a client can cause has a stable `code` (what clients and tests compare), an HTTP
`status` and a translatable message. The API answers `{"code": …, "detail": …, "fields": …}`
(`fangkong.common.exception_handler`); pages show the message (`DomainErrorMiddleware`).

An app's own base error subclasses DomainError without setting a status, so that combining it
with one of the kinds below (`class Conflict(TracingError, errors.Conflict)`) takes the kind's
status and code through the MRO.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "invalid"
    status = 400
    default_message = _("The request cannot be carried out.")

    def __init__(self, message=None, *, code: str | None = None, fields: dict | None = None):
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        self.fields = fields or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": str(self.message)}
        if self.fields:
            body["fields"] = {
                key: [str(v) for v in _as_list(value)] for key, value in self.fields.items()
            }
        return body


def _as_list(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


class Invalid(DomainError):
    code = "invalid"
    status = 400


class Forbidden(DomainError, PermissionDenied):
    """The actor's role may not do this. Also a PermissionDenied, for Django's own handling."""

    code = "forbidden"
    status = 403
    default_message = _("Your role may not do this.")


class NotFound(DomainError, Http404):
    """Missing and outside the actor's subtree are the same answer (Zulip's access_* rule).

    Also an Http404, so Django's own handling and older `except Http404` callers see a 404."""

    code = "not_found"
    status = 404
    default_message = _("Not found.")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = _("The object changed meanwhile or is in another state.")


class TooLarge(DomainError):
    code = "too_large"
    status = 413
    default_message = _("The upload is too large.")


class Throttled(DomainError):
    code = "throttled"
    status = 429
    default_message = _("Too many attempts; wait a few minutes and try again.")


class Unavailable(DomainError):
    """A store the request needs (Redis, the queue) is down: refuse clearly, never a 500."""

    code = "unavailable"
    status = 503
    default_message = _("A service the platform needs is unavailable; try again shortly.")
