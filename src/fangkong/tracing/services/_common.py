"""Shared by the sections of the tracing writes: the local zone, the errors, the case history."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.utils import timezone

from fangkong.common import errors

from ..models import CaseEvent

LOCAL = ZoneInfo("Asia/Shanghai")


class TracingError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Conflict(TracingError, errors.Conflict):
    pass


def _event(case, kind, actor, *, before="", after="", note="", at=None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        from_value=str(before or "")[:64],
        to_value=str(after or "")[:64],
        note=note[:255],
        at=at or timezone.now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None
