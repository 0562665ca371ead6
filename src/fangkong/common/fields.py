"""Serializer fields every API module shares: date-times within a sane range, always RFC 3339."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

# Event times of an epidemic response: nothing before 2000 or after 2100 is a real one. Before
# 1901 Asia/Shanghai is local mean time (+08:05:43), an offset RFC 3339 cannot write.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


class DateTimeField(serializers.DateTimeField):
    default_error_messages = {
        "range": _("Date-times must lie between 2000 and 2100."),
    }

    def to_internal_value(self, value):
        parsed = super().to_internal_value(value)
        aware = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
        if not EARLIEST <= aware <= LATEST:
            self.fail("range")
        return parsed

    def to_representation(self, value):
        if isinstance(value, dt.datetime) and getattr(
            self, "format", api_settings.DATETIME_FORMAT
        ) in (None, ISO_8601):
            local = self.enforce_timezone(value)
            offset = local.utcoffset()
            if offset is not None and offset.total_seconds() % 60:
                # A stored time from before the range: written in UTC rather than in an offset
                # with seconds, which is not RFC 3339.
                value = local.astimezone(dt.UTC)
                return value.isoformat().replace("+00:00", "Z")
        return super().to_representation(value)


def install() -> None:
    """Model serializers build this field for every model DateTimeField."""
    serializers.ModelSerializer.serializer_field_mapping[models.DateTimeField] = DateTimeField


def plain_strings(data: dict, fields: dict[str, tuple[int | None, bool]]) -> dict | None:
    """The hot scan endpoints' cheap check: the values of `fields` (name: (max_length,
    required)) when every one given is a plain ASCII string that DRF's CharField (trimmed, no
    NUL) accepts as it is, trimmed; a required field must be there and not blank, an optional one
    may be absent (left out) or blank. None for anything else, which the endpoint's serializer
    then validates with its own messages: this only skips building it for the usual body."""
    out = {}
    for name, (limit, required) in fields.items():
        if name not in data:
            if required:
                return None
            continue
        value = data[name]
        if type(value) is not str or not value.isascii() or "\x00" in value:
            return None
        value = value.strip()
        if (required and not value) or (limit is not None and len(value) > limit):
            return None
        out[name] = value
    return out
