"""The dose schedule and the age bands: boundaries, as pure functions."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.vaccination import schedule
from fangkong.vaccination.models import AgeBand
from fangkong.vaccination.schedule import NextKind, Schedule

INACTIVATED = Schedule(2, 21, 56)
ZF2001 = Schedule(3, 28, 60)
AD5 = Schedule(1, 0, 0)
D = dt.date(2021, 5, 1)


def test_inactivated_second_dose_window():
    step = schedule.next_dose(INACTIVATED, doses=1, last=D, age=40)
    assert (step.dose_number, step.kind) == (2, NextKind.PRIMARY)
    assert step.due_from == dt.date(2021, 5, 22)  # 3 weeks
    assert step.overdue_after == dt.date(2021, 6, 26)  # 8 weeks
    assert not step.overdue(dt.date(2021, 6, 26))
    assert step.overdue(dt.date(2021, 6, 27))


def test_zf2001_three_doses_then_booster():
    assert schedule.next_dose(ZF2001, doses=2, last=D, age=30).dose_number == 3
    assert schedule.next_dose(ZF2001, doses=2, last=D, age=30).kind == NextKind.PRIMARY
    booster = schedule.next_dose(ZF2001, doses=3, last=D, age=30)
    assert (booster.dose_number, booster.kind) == (4, NextKind.BOOSTER)
    assert booster.due_from == D + dt.timedelta(days=180)
    assert booster.overdue_after is None
    assert not booster.overdue(D + dt.timedelta(days=179))
    assert booster.overdue(D + dt.timedelta(days=180))


def test_ad5_one_dose_is_the_full_course():
    assert schedule.levels(AD5, 1) == (True, True, False, False)
    assert schedule.next_dose(AD5, doses=1, last=D, age=50).kind == NextKind.BOOSTER


def test_second_booster_only_for_the_elderly():
    assert schedule.next_dose(INACTIVATED, doses=3, last=D, age=59) is None
    second = schedule.next_dose(INACTIVATED, doses=3, last=D, age=60)
    assert (second.dose_number, second.kind) == (4, NextKind.SECOND_BOOSTER)
    assert schedule.next_dose(INACTIVATED, doses=4, last=D, age=90) is None


def test_levels_follow_the_course_length():
    assert schedule.levels(INACTIVATED, 1) == (True, False, False, False)
    assert schedule.levels(INACTIVATED, 2) == (True, True, False, False)
    assert schedule.levels(ZF2001, 2) == (True, False, False, False)
    assert schedule.levels(ZF2001, 4) == (True, True, True, False)
    assert schedule.levels(INACTIVATED, 4) == (True, True, True, True)


def test_unvaccinated_has_no_next_dose_rule():
    with pytest.raises(ValueError):
        schedule.next_dose(INACTIVATED, doses=0, last=D, age=30)


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, AgeBand.UNDER_THREE),
        (2, AgeBand.UNDER_THREE),
        (3, AgeBand.CHILD),
        (11, AgeBand.CHILD),
        (12, AgeBand.TEEN),
        (17, AgeBand.TEEN),
        (18, AgeBand.ADULT),
        (59, AgeBand.ADULT),
        (60, AgeBand.SIXTIES),
        (69, AgeBand.SIXTIES),
        (70, AgeBand.SEVENTIES),
        (79, AgeBand.SEVENTIES),
        (80, AgeBand.EIGHTY_PLUS),
        (104, AgeBand.EIGHTY_PLUS),
    ],
)
def test_band_boundaries(age, band):
    assert schedule.band_of(age) == band


def test_age_on_birthday_and_leap_day():
    assert schedule.age_on(dt.date(1962, 6, 1), dt.date(2022, 6, 1)) == 60
    assert schedule.age_on(dt.date(1962, 6, 2), dt.date(2022, 6, 1)) == 59
    assert schedule.age_on(dt.date(2004, 2, 29), dt.date(2022, 2, 28)) == 17
    assert schedule.age_on(dt.date(2004, 2, 29), dt.date(2022, 3, 1)) == 18


@given(
    birth=st.dates(dt.date(1900, 1, 1), dt.date(2024, 12, 31)),
    day=st.dates(dt.date(2021, 1, 1), dt.date(2026, 12, 31)),
)
def test_cutoffs_agree_with_the_age(birth, day):
    """The SQL's CASE over birth-date cutoffs puts everyone in the band their age says."""
    if birth > day:
        return
    by_cutoff = next(
        (band for band, cutoff in schedule.band_cutoffs(day) if birth <= cutoff),
        AgeBand.UNDER_THREE,
    )
    assert by_cutoff == schedule.band_of(schedule.age_on(birth, day))
