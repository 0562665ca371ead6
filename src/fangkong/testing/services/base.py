"""The errors every write of mass testing refuses with."""

from __future__ import annotations

from fangkong.common import errors


class TestingError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""

    code = "invalid"


class Conflict(TestingError, errors.Conflict):
    code = "conflict"
