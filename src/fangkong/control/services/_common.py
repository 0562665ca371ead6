"""Shared by the sections of the control writes: the fever line, the self-report salt, the errors."""

from __future__ import annotations

from decimal import Decimal

from fangkong.common import errors

FEVER = Decimal("37.3")
TOKEN_SALT = "fangkong.control.selfreport"


class ControlError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Conflict(ControlError, errors.Conflict):
    pass


class NoRoom(Conflict):
    code = "no_room"
