"""What every section of the command centre's writes shares: the refusal and the checks."""

from __future__ import annotations

from django.utils.translation import gettext as _

from fangkong.common import errors
from fangkong.common.models import Alert
from fangkong.common.scope import path_within


class CommandRefused(errors.DomainError, ValueError):
    """The request breaks a rule; the message says which, for the user."""


def _require(allowed: bool) -> None:
    if not allowed:
        raise errors.Forbidden


def _within(actor, path: str) -> None:
    if not path_within(actor, path):
        raise CommandRefused(_("that lies outside your jurisdiction"), code="outside_jurisdiction")


def _bulk_alerts(rows: list[Alert]) -> None:
    # One INSERT for all; the dedupe key makes raising the same cause twice harmless.
    Alert.objects.bulk_create(rows, ignore_conflicts=True)
