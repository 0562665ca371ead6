"""Property tests of resident ID numbers: made numbers parse back; any single-character change is
caught; the rules agree with python-stdnum's stdnum.cn.ric; 15-digit numbers become 18."""

import datetime as dt
from pathlib import Path

import pytest
import stdnum
from hypothesis import given
from hypothesis import strategies as st
from stdnum import exceptions as stdnum_exceptions
from stdnum import numdb
from stdnum.cn import ric

from fangkong.people import idnumber

TODAY = dt.date(2025, 1, 1)
provinces = st.sampled_from(sorted(idnumber.PROVINCES))
regions = st.builds(
    lambda province, rest: province + rest, provinces, st.from_regex(r"[0-9]{4}", fullmatch=True)
)
births = st.dates(min_value=dt.date(1800, 1, 1), max_value=TODAY)
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
        ("110105179912310024", "out of range"),
        ("910105194912310029", "no province"),
        ("11010519000229002X", "does not exist"),
        ("110105194912310020", "check digit"),
    ],
)
def test_known_bad_numbers(value, reason):
    with pytest.raises(idnumber.InvalidIdNumber, match=reason):
        idnumber.parse(value, today=TODAY)


def test_a_known_valid_number():
    assert idnumber.parse("11010519491231002X", today=TODAY) == (dt.date(1949, 12, 31), "F")


def test_the_standards_own_example_born_in_1880():
    # GB 11643-1999's example; refused while birth years before 1890 were.
    assert idnumber.parse("440524188001010014", today=TODAY) == (dt.date(1880, 1, 1), "M")


@pytest.mark.parametrize(
    ("legacy", "full"),
    [
        # GB 11643-1989's number of the 1999 standard's example person, and a hand computation:
        # 32010219800101001 weighs 127, 127 % 11 = 6, and "10X98765432"[6] is 6.
        ("110105491231002", "11010519491231002X"),
        ("320102800101001", "320102198001010016"),
    ],
)
def test_15_digit_numbers_become_18(legacy, full):
    assert idnumber.from_legacy(legacy) == full
    assert idnumber.upgrade(f" {legacy} ") == (full, legacy)
    assert idnumber.upgrade(full) == (full, "")
    assert ric.calc_check_digit(full) == full[-1]


# --- against python-stdnum -------------------------------------------------------------------
# stdnum.cn.ric checks the shape, the check digit, that the birth date exists, and the birth
# place against its county list, each county with the years it existed. It has no 15-digit
# conversion, no date range, and a stricter place rule (a county valid in the birth year: it
# refuses the standard's own example, whose 潮阳县 code dates from 1983); Fangkong checks the
# province only, because numbers stay valid after their county is renamed or merged.

_LOC = numdb.get("cn/loc")


def _stdnum_province(code: str) -> bool:
    return any("province" in props for _part, props in _LOC.info(code + "0000"))


def _stdnum_ok_but_place(number: str) -> bool:
    """stdnum's validate() without the place lookup, plus Fangkong's date range."""
    try:
        number = ric.compact(number)
        if len(number) != 18 or not number[:-1].isdigit():
            return False
        if ric.calc_check_digit(number) != number[-1]:
            return False
        birth = ric.get_birth_date(number)
    except stdnum_exceptions.ValidationError:
        return False
    return idnumber.EARLIEST_BIRTH <= birth <= TODAY


def _stdnum_valid(number: str) -> bool:
    # stdnum 2.2's place lookup raises KeyError (not a ValidationError) for an unknown county
    # in a known province; that is a refusal too.
    try:
        return ric.is_valid(number)
    except KeyError:
        return False


def _ours(number: str) -> bool:
    try:
        idnumber.parse(number, today=TODAY)
    except idnumber.InvalidIdNumber:
        return False
    return True


def test_the_provinces_are_stdnums():
    assert {f"{n:02d}" for n in range(100) if _stdnum_province(f"{n:02d}")} == idnumber.PROVINCES


@given(st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_check_character_as_stdnum_computes_it(first17):
    assert idnumber.check_char(first17) == ric.calc_check_digit(first17 + "0")


# Digits of arbitrary (often impossible) dates: months 00-19, days 00-39, 0229 in any year.
def _number(region: str, year: int, month: int, day: int, seq: int, check: str | None) -> str:
    first17 = f"{region}{year:04d}{month:02d}{day:02d}{seq:03d}"
    return first17 + (idnumber.check_char(first17) if check is None else check)


numbers = st.builds(
    _number,
    st.one_of(regions, st.from_regex(r"[0-9]{6}", fullmatch=True)),
    st.integers(min_value=1700, max_value=2030),
    st.one_of(st.integers(min_value=0, max_value=19), st.just(2)),
    st.one_of(st.integers(min_value=0, max_value=39), st.just(29)),
    st.integers(min_value=0, max_value=999),
    st.one_of(st.none(), st.sampled_from("0123456789X")),
)


@given(numbers)
def test_agrees_with_stdnum_on_everything_but_the_county(number):
    expected = _stdnum_ok_but_place(number) and _stdnum_province(number[:2])
    assert _ours(number) == expected


@given(numbers)
def test_what_stdnum_accepts_in_the_date_range_is_accepted(number):
    if _stdnum_valid(number) and _stdnum_ok_but_place(number):
        assert _ours(number)


# County codes stdnum knows without a period of validity: there, both must agree exactly.
def _timeless_counties() -> list[str]:
    path = Path(stdnum.__file__).parent / "cn" / "loc.dat"
    out, province = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
        elif province and 'county="[' not in line:
            out.append(province + line.split()[0])
    return out


@given(st.sampled_from(_timeless_counties()), births, sequences, st.booleans())
def test_on_counties_stdnum_always_knew_both_agree_exactly(county, birth, sequence, correct):
    number = idnumber.make(county, birth, sequence)
    if not correct:
        number = number[:17] + ("0" if number[17] != "0" else "1")
    assert _ours(number) == _stdnum_valid(number) == correct


@given(regions, st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)), sequences)
def test_15_digit_numbers_convert_to_valid_18(region, birth, sequence):
    legacy = f"{region}{birth:%y%m%d}{sequence:03d}"
    full = idnumber.from_legacy(legacy)
    assert full == idnumber.make(region, birth, sequence)
    assert full[-1] == ric.calc_check_digit(full)
    assert idnumber.parse(full, today=TODAY) == (birth, "M" if sequence % 2 else "F")
