"""Rate limits of the public pages and endpoints, per client address and per ID number.

Counters live in the shared cache that every worker process sees (fangkong.common.throttle,
like the login throttle and the venue scans). Every attempt counts, not only failed
ones: the limits are what stops someone trying numbers or codes, and what keeps the SMS bill
bounded. A store that cannot be read refuses (503): a guess never goes through uncounted."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from fangkong.common import errors, throttle

logger = logging.getLogger(__name__)

# kind -> {"address": (attempts, seconds), "id": (attempts, seconds)}; FANGKONG settings may
# override any of them (VOLUNTARY_LIMITS).
DEFAULT_LIMITS = {
    "book": {"address": (20, 3600), "id": (6, 86400)},
    "code": {"address": (10, 3600), "id": (3, 3600)},
    "verify": {"address": (20, 3600), "id": (10, 3600)},
}

THROTTLED = _("Too many attempts. Wait a while and try again.")


def limits(kind: str) -> dict:
    return {**DEFAULT_LIMITS[kind], **settings.VOLUNTARY_LIMITS.get(kind, {})}


def _keys(kind: str, ip: str | None, number: str) -> dict[str, str]:
    # Hashed: a number is personal data and never a key in plain.
    digest = hashlib.sha256(f"voluntary:{number.strip().upper()}".encode()).hexdigest()[:32]
    return {"address": f"vol:{kind}:addr:{ip or '-'}", "id": f"vol:{kind}:id:{digest}"}


def attempt(kind: str, *, ip: str | None, number: str) -> None:
    """Count one attempt of `kind`; Throttled (429 `throttled`) once the address or the number
    has used up its attempts in the window."""
    rules = limits(kind)
    keys = _keys(kind, ip, number)
    try:
        counts = throttle.counts(list(keys.values()))
        if any(counts[keys[k]] >= rules[k][0] for k in keys):
            raise errors.Throttled(THROTTLED)
        for name, key in keys.items():
            throttle.bump(key, rules[name][1])
    except throttle.STORE_ERRORS as exc:
        logger.error("voluntary throttle store unavailable: %r", exc)
        raise errors.Unavailable() from exc
