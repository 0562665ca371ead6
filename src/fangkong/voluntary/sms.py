"""Text messages to residents: one pluggable sender (FANGKONG_SMS_SENDER), the log by default."""

from __future__ import annotations

import logging
from collections import deque

from django.conf import settings

from fangkong.common import registry

logger = logging.getLogger("fangkong.sms")

# The last messages the log sender handed over, for the demo and the tests (never production:
# a real sender delivers and keeps nothing here).
outbox: deque[tuple[str, str]] = deque(maxlen=200)


def log_sender(phone: str, message: str) -> None:
    """The default sender: writes the message to the log. Warning level, because the demo's
    console shows warnings and up, and an operator must see a code that was not delivered."""
    outbox.append((phone, message))
    logger.warning("SMS to %s: %s", phone, message)


def send(phone: str, message: str) -> None:
    """Hand one message to the configured sender, a callable `sender(phone, message)`."""
    registry.load(settings.SMS_SENDER)(phone, message)
