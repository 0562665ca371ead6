"""Phone numbers: mainland mobiles and landlines with area code."""

import re

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalize_phone(value: str) -> str:
    cleaned = re.sub(r"[\s()]", "", value or "")
    if cleaned.startswith("+86"):
        cleaned = cleaned[3:]
    return cleaned


def is_valid_phone(value: str) -> bool:
    return bool(_MOBILE.match(value) or _LANDLINE.match(value))
