"""Masking of personal data shown to roles that may not see it in full.

A mask must survive what is shown beside it. A resident ID is region (6) + birth date (8) +
sequence (3, the last of them odd for men) + check digit. The old mask kept the first 3 and the
last 4 characters; with the birth date and sex on the same screen and the region known from the
grid's district, only ~10 region digits were left to guess and the check digit picked one: every
number came back. Now an ID keeps its first and last character only (`3****************X`): the
first is the province group (the grid says as much), the last is the check digit (a function of
the rest), so together they add under 4 bits. Roles without the right see an age band instead of
the birth date (fangkong.people.privacy), so even with the region assumed known the hidden part is
a ten-year band of birth dates × 500 sequence numbers ÷ 11 ≈ 160,000 candidates; with the exact
birth date (which only PII roles see) it would still be ~45.

A mobile number keeps its 3-digit carrier prefix and last 2 digits (`138******12`): 10⁶
candidates, and two digits are enough to tell two numbers of one household apart on the phone.
"""


def mask_id_number(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 4:
        return value[0] + "*" * (len(value) - 1)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 5) + value[-2:]


def age_band(age: int | None) -> str:
    """'30-39': the decade of life, for roles that may not see the birth date."""
    if age is None or age < 0:
        return ""
    low = age // 10 * 10
    return f"{low}-{low + 9}"
