"""Property tests of resident ID numbers: made numbers parse back; any single-character change is caught."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.people import idnumber

TODAY = dt.date(2025, 1, 1)
regions = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
births = st.dates(min_value=dt.date(1890, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@given(regions, births, sequences)
def test_made_numbers_parse_back_to_date_and_sex(region, birth, sequence):
    number = idnumber.make(region, birth, sequence)
    assert len(number) == 18
    assert idnumber.parse(number, today=TODAY) == (birth, "M" if sequence % 2 else "F")
    assert idnumber.parse(f" {number.lower()} ", today=TODAY) == (
        birth,
        "M" if sequence % 2 else "F",
    )


@given(regions, births, sequences, st.integers(min_value=0, max_value=17), st.data())
def test_any_single_character_change_is_rejected(region, birth, sequence, position, data):
    number = idnumber.make(region, birth, sequence)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(idnumber.InvalidIdNumber):
        idnumber.parse(changed, today=TODAY)


@given(regions, st.dates(min_value=TODAY + dt.timedelta(days=1)), sequences)
def test_future_birth_dates_are_rejected(region, birth, sequence):
    with pytest.raises(idnumber.InvalidIdNumber, match="out of range"):
        idnumber.parse(idnumber.make(region, birth, sequence), today=TODAY)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11010519491231002", "17 digits"),
        ("11010519491231002XX", "17 digits"),
        ("1101051949123100AX", "17 digits"),
        ("110105194902300021", "does not exist"),
        ("110105188912310024", "out of range"),
        ("110105194912310020", "check digit"),
    ],
)
def test_known_bad_numbers(value, reason):
    with pytest.raises(idnumber.InvalidIdNumber, match=reason):
        idnumber.parse(value, today=TODAY)


def test_a_known_valid_number():
    assert idnumber.parse("11010519491231002X", today=TODAY) == (dt.date(1949, 12, 31), "F")
