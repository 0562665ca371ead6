"""Resident ID numbers (GB 11643-1999): check digit, birth date, sex and province encoded in the
number, and the 15-digit numbers of GB 11643-1989 brought to 18 digits."""

import datetime as dt
import re

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_LEGACY_SHAPE = re.compile(r"^[0-9]{15}$")
# The provinces of GB/T 2260 (the first two digits of an area code), Taiwan, Hong Kong and
# Macau included; a county list would go stale with every redistricting, the provinces do not.
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82".split()
)
# The standard's own example (440524188001010014) is born in 1880; people born before 1890
# are rare but real, so any existing date from 1800 on is a birth date.
EARLIEST_BIRTH = dt.date(1800, 1, 1)


class InvalidIdNumber(ValueError):
    pass


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalize(value: str) -> str:
    return value.strip().upper().replace(" ", "")


def from_legacy(value: str) -> str:
    """A 15-digit GB 11643-1989 number as the 18 digits of GB 11643-1999: the year gains its
    century (19, the only one those numbers were issued for) and the number its check character.
    The result is not validated here; parse() it."""
    number = normalize(value)
    if not _LEGACY_SHAPE.match(number):
        raise InvalidIdNumber("a 15-digit ID number is 15 digits")
    first17 = f"{number[:6]}19{number[6:]}"
    return first17 + check_char(first17)


def upgrade(value: str) -> tuple[str, str]:
    """(the 18-character number, the 15-digit original or "") of a number as it was written."""
    number = normalize(value)
    if _LEGACY_SHAPE.match(number):
        return from_legacy(number), number
    return number, ""


def parse(value: str, *, today: dt.date | None = None) -> tuple[dt.date, str]:
    """Validate an 18-character resident ID number; return (birth date, sex 'M'/'F')."""
    number = normalize(value)
    if not _SHAPE.match(number):
        raise InvalidIdNumber("must be 17 digits followed by a digit or X")
    if number[:2] not in PROVINCES:
        raise InvalidIdNumber("the area code is in no province")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("the birth date it encodes does not exist") from exc
    if birth < EARLIEST_BIRTH or birth > (today or dt.date.today()):
        raise InvalidIdNumber("the birth date it encodes is out of range")
    if check_char(number[:17]) != number[17]:
        raise InvalidIdNumber("check digit does not match")
    return birth, "M" if int(number[16]) % 2 else "F"


def make(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid number (used by the synthetic city and the tests)."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
