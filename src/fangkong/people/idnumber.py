"""Resident ID numbers (GB 11643-1999): check digit, birth date and sex encoded in the number."""

import datetime as dt
import re

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")


class InvalidIdNumber(ValueError):
    pass


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalize(value: str) -> str:
    return value.strip().upper().replace(" ", "")


def parse(value: str, *, today: dt.date | None = None) -> tuple[dt.date, str]:
    """Validate an 18-character resident ID number; return (birth date, sex 'M'/'F')."""
    number = normalize(value)
    if not _SHAPE.match(number):
        raise InvalidIdNumber("must be 17 digits followed by a digit or X")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("the birth date it encodes does not exist") from exc
    if birth.year < 1890 or birth > (today or dt.date.today()):
        raise InvalidIdNumber("the birth date it encodes is out of range")
    if check_char(number[:17]) != number[17]:
        raise InvalidIdNumber("check digit does not match")
    return birth, "M" if int(number[16]) % 2 else "F"


def make(region: str, birth: dt.date, sequence: int) -> str:
    """Build a valid number (used by the synthetic city and the tests)."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
