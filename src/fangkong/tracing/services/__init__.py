"""Writes of the tracing module: cases and their history, the investigation, contacts and their
leads (candidate → pushed → verified → under control, or excluded), cluster events."""

from .cases import *  # noqa: F403
