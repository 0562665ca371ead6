"""Turnaround: how long a tube has waited for its result."""

from __future__ import annotations

import datetime as dt

from ..models import Tube


def turnaround_state(tube: Tube, *, now: dt.datetime, warning_hours: int, breach_hours: int) -> str:
    """'ok', 'warning' or 'breach' for a tube still waiting for its result (hours since sampling)."""
    if tube.reported_at is not None or tube.sampled_at is None:
        return "ok"
    hours = (now - tube.sampled_at).total_seconds() / 3600
    if hours >= breach_hours:
        return "breach"
    if hours >= warning_hours:
        return "warning"
    return "ok"
