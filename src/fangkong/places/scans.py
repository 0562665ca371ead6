"""The venue-code scan: the public hot path (no login), about 500 scans a second at peak.

On PostgreSQL each scan is one statement and one round trip: the place behind the venue code
and its open order, the registry person looked up by the number, and the INSERT, whose NOT
EXISTS clause is "one visit, one scan" (the same number at the same place within VISIT_MINUTES,
not yet left). Its commit does not wait for the WAL flush (see _PG_SCAN). Elsewhere (SQLite) the
place comes from venue(), kept in process memory for PLACE_TTL seconds, then one INSERT … SELECT.
The phone page's GET reads the place through venue(); an order on the place forgets it at once
in this process, and in the others within PLACE_TTL.

No audit row per scan: the scan row itself is the record (who, where, when), and an audit row
per scan would double the writes of the hot path for nothing the row does not say. What is
audited is who reads visitors' numbers (selectors.visitors_for).

Scans are throttled per client address and per number in the shared counters
(fangkong.common.throttle; Redis in production). If that store is down the scan still goes
through (logged): a visitor at the door must not be turned away because a counter cannot be
read, unlike a login guess.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.common import errors, throttle
from fangkong.people import idnumber
from fangkong.people.phone import normalize_phone

log = logging.getLogger(__name__)
VISIT_MINUTES = (
    120  # a second scan of the same number at the same place within this is the same visit
)
PLACE_TTL = 30.0
DEFAULT_THROTTLE = {"address_per_minute": 600, "number_per_minute": 6}


class ScanRefused(errors.Invalid):
    code = "scan_invalid"


@dataclass(frozen=True)
class VenueInfo:
    """What the phone page and the scan answer show of a place: never its visitors."""

    id: int
    token: str
    code: str
    name: str
    name_en: str
    jpath: str
    active: bool
    measure: str  # "" open, or PlaceOrder measure
    capacity_percent: int
    reason: str


@dataclass(frozen=True)
class ScanResult:
    scan_id: int
    repeat: bool
    scanned_at: dt.datetime
    venue: VenueInfo


_places: dict[str, tuple[float, VenueInfo | None]] = {}
_VENUE = """
SELECT p.id, p.token, p.code, p.name, p.name_en, p.jpath, p.active,
       o.measure, o.capacity_percent, o.reason
FROM places_place p
LEFT JOIN places_placeorder o ON o.place_id = p.id AND o.lifted_at IS NULL
WHERE p.token = %s
"""


def forget_place(token: str) -> None:
    _places.pop(token, None)


def venue(token: str) -> VenueInfo:
    """The place of a venue code (cached PLACE_TTL seconds); NotFound for an unknown code."""
    token = (token or "").strip().upper()
    hit = _places.get(token)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        info = hit[1]
    else:
        info = None
        if 0 < len(token) <= 16:
            # One round trip: the place and its open order (at most one, by constraint).
            with connection.cursor() as cursor:
                cursor.execute(_VENUE, [token])
                row = cursor.fetchone()
            if row is not None:
                info = VenueInfo(
                    id=row[0],
                    token=row[1],
                    code=row[2],
                    name=row[3],
                    name_en=row[4],
                    jpath=row[5],
                    active=bool(row[6]),
                    measure=row[7] or "",
                    capacity_percent=100 if row[7] is None else row[8],
                    reason=row[9] or "",
                )
        if len(_places) > 200_000:  # far more places than a city has: someone is probing
            _places.clear()
        _places[token] = (now + PLACE_TTL, info)
    if info is None or not info.active:
        raise errors.NotFound(_("No place has this venue code."))
    return info


def visitor_number(*, phone: str = "", id_number: str = "") -> tuple[str, str]:
    """(phone, ID number) of the visitor, exactly one of them given and valid."""
    phone = normalize_phone(phone or "")
    id_number = idnumber.normalize(id_number or "")
    if bool(phone) == bool(id_number):
        raise ScanRefused(
            _("Give your mobile number or your ID number."),
            code="scan_number_missing",
            fields={"phone": [_("Give a mobile number or an ID number.")]},
        )
    if phone:
        if len(phone) != 11 or not phone.isdigit() or phone[0] != "1" or phone[1] in "012":
            raise ScanRefused(
                _("That is not a mobile number."),
                code="scan_phone_invalid",
                fields={"phone": [_("A mobile number has 11 digits and starts with 1.")]},
            )
        return phone, ""
    try:
        idnumber.parse(id_number)
    except idnumber.InvalidIdNumber:
        raise ScanRefused(
            _("That is not a valid ID number."),
            code="scan_id_invalid",
            fields={"id_number": [_("Check the 18 characters of the ID number.")]},
        ) from None
    return "", id_number


def client_ip(request) -> str | None:
    """The client's address as the audit log records it (the first X-Forwarded-For hop behind
    the proxy, else the peer): behind a proxy the peer is the proxy, and one counter for the
    whole city would turn everyone away."""
    from fangkong.audit.context import current_ip

    return current_ip() or request.META.get("REMOTE_ADDR")


def _throttle(*, ip: str | None, number: str) -> None:
    limits = {**DEFAULT_THROTTLE, **settings.FANGKONG_SCAN_THROTTLE}
    minute = int(time.time() // 60)
    checks = [
        (f"vscan:a:{ip or '-'}:{minute}", limits["address_per_minute"]),
        (f"vscan:n:{number}:{minute}", limits["number_per_minute"]),
    ]
    try:
        counts = throttle.hit([key for key, _limit in checks], 90)
    except throttle.STORE_ERRORS as exc:
        log.warning("venue-scan throttle store unavailable, scan let through: %r", exc)
        return
    if any(n > limit for n, (_key, limit) in zip(counts, checks, strict=True)):
        raise errors.Throttled(_("Too many scans; wait a minute and scan again."))


_INSERT = """
INSERT INTO places_scan (place_id, phone, id_number, person_id, scanned_at)
SELECT %s, %s, %s, (SELECT id FROM people_person WHERE {match} = %s ORDER BY id LIMIT 1), %s
WHERE NOT EXISTS (
  SELECT 1 FROM places_scan
  WHERE place_id = %s AND {column} = %s AND scanned_at > %s AND left_at IS NULL
)
RETURNING id
"""
_INSERT_PHONE = _INSERT.format(match="phone", column="phone")
_INSERT_ID = _INSERT.format(match="document_number", column="id_number")

# PostgreSQL: the place, its open order and the INSERT in one statement and one round trip (at
# 100,000 places the process cache of venue() rarely holds the place a scan names). The scan's
# commit does not wait for the WAL flush (SET LOCAL, this statement's implicit transaction only):
# that wait was 10 ms a scan on this machine's disk, and a database crash can lose at most the
# last ~0.6 s of scans (3 × wal_writer_delay) without leaving anything inconsistent; the visitor's
# phone page still shows the pass. Every other write of the application keeps synchronous commit.
_PG_SCAN = """
SET LOCAL synchronous_commit TO OFF;
WITH p AS (
  SELECT p.id, p.token, p.code, p.name, p.name_en, p.jpath, o.measure, o.capacity_percent,
         o.reason
  FROM places_place p
  LEFT JOIN places_placeorder o ON o.place_id = p.id AND o.lifted_at IS NULL
  WHERE p.token = %s AND p.active
), ins AS (
  INSERT INTO places_scan (place_id, phone, id_number, person_id, scanned_at)
  SELECT p.id, %s, %s, (SELECT id FROM people_person WHERE {match} = %s ORDER BY id LIMIT 1), %s
  FROM p
  WHERE NOT EXISTS (
    SELECT 1 FROM places_scan s
    WHERE s.place_id = p.id AND s.{column} = %s AND s.scanned_at > %s AND s.left_at IS NULL
  )
  RETURNING id
)
SELECT p.id, p.token, p.code, p.name, p.name_en, p.jpath, p.measure, p.capacity_percent,
       p.reason, (SELECT id FROM ins)
FROM p
"""
_PG_SCAN_PHONE = _PG_SCAN.format(match="phone", column="phone")
_PG_SCAN_ID = _PG_SCAN.format(match="document_number", column="id_number")


def _insert_pg(token: str, phone: str, id_number: str, at, since) -> tuple[VenueInfo, int | None]:
    number = phone or id_number
    statement = _PG_SCAN_PHONE if phone else _PG_SCAN_ID
    with connection.cursor() as cursor:
        cursor.execute(statement, [token, phone, id_number, number, at, number, since])
        if cursor.description is None:  # the SET's own (empty) result comes first
            cursor.nextset()
        row = cursor.fetchone()
    if row is None:
        raise errors.NotFound(_("No place has this venue code."))
    info = VenueInfo(
        id=row[0],
        token=row[1],
        code=row[2],
        name=row[3],
        name_en=row[4],
        jpath=row[5],
        active=True,
        measure=row[6] or "",
        capacity_percent=100 if row[6] is None else row[7],
        reason=row[8] or "",
    )
    return info, row[9]


def _insert_other(place: VenueInfo, phone: str, id_number: str, at, since) -> int | None:
    number = phone or id_number
    statement = _INSERT_PHONE if phone else _INSERT_ID
    with connection.cursor() as cursor:
        cursor.execute(statement, [place.id, phone, id_number, number, at, place.id, number, since])
        row = cursor.fetchone()
    return None if row is None else row[0]


def scan_record(
    *,
    token: str,
    phone: str = "",
    id_number: str = "",
    ip: str | None = None,
    at: dt.datetime | None = None,
) -> ScanResult:
    """Record a visitor's entry at the place of a venue code; a repeat within the visit
    returns the visit's scan and writes nothing. A number that matches nobody in the registry
    is kept too (person empty): it is still a lead key for the co-location run."""
    token = (token or "").strip().upper()
    if not 0 < len(token) <= 16:
        raise errors.NotFound(_("No place has this venue code."))
    pg = connection.vendor == "postgresql"
    place = None if pg else venue(token)
    phone, id_number = visitor_number(phone=phone, id_number=id_number)
    number = phone or id_number
    _throttle(ip=ip, number=number)
    at = at or timezone.now()
    since = at - dt.timedelta(minutes=VISIT_MINUTES)
    if pg:
        place, scan_id = _insert_pg(token, phone, id_number, at, since)
    else:
        scan_id = _insert_other(place, phone, id_number, at, since)
    if scan_id is not None:
        return ScanResult(scan_id=scan_id, repeat=False, scanned_at=at, venue=place)
    column = "phone" if phone else "id_number"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, scanned_at FROM places_scan WHERE place_id = %s AND {column} = %s "
            "AND scanned_at > %s AND left_at IS NULL ORDER BY scanned_at DESC LIMIT 1",
            [place.id, number, since],
        )
        row = cursor.fetchone()
    if row is None:  # left meanwhile: a race with the exit; record the entry after all
        return scan_record(token=token, phone=phone, id_number=id_number, ip=None, at=at)
    scanned_at = row[1]
    if isinstance(scanned_at, str):  # SQLite hands raw text back to a raw cursor
        scanned_at = dt.datetime.fromisoformat(scanned_at)
    if timezone.is_naive(scanned_at):
        scanned_at = timezone.make_aware(scanned_at, dt.UTC)
    return ScanResult(scan_id=row[0], repeat=True, scanned_at=scanned_at, venue=place)


def scan_leave(*, token: str, scan_id: int, number: str, at: dt.datetime | None = None) -> bool:
    """The visitor's optional exit: only the number that entered can close its own visit."""
    place = venue(token)
    if not number:
        return False
    at = at or timezone.now()
    from .models import Scan

    with transaction.atomic():
        changed = (
            Scan.objects.filter(pk=scan_id, place_id=place.id, left_at__isnull=True)
            .filter(phone=number)
            .update(left_at=at)
        ) or (
            Scan.objects.filter(pk=scan_id, place_id=place.id, left_at__isnull=True)
            .filter(id_number=number)
            .update(left_at=at)
        )
    return bool(changed)
