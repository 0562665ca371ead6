"""The dose schedule as rules over a product's data: what a person's next dose is, when it is due
and when it is overdue. Pure functions (no database), so the boundaries are tested directly."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .models import BAND_MIN_AGE, AgeBand


@dataclass(frozen=True)
class Schedule:
    """The schedule fields of a Product (models.Product), detached from the database."""

    primary_doses: int
    interval_min_days: int
    interval_max_days: int
    booster_after_days: int = 180
    second_booster_min_age: int = 60
    second_booster_after_days: int = 180

    @classmethod
    def of(cls, product) -> Schedule:
        return cls(
            product.primary_doses,
            product.interval_min_days,
            product.interval_max_days,
            product.booster_after_days,
            product.second_booster_min_age,
            product.second_booster_after_days,
        )


class NextKind:
    PRIMARY = "primary"
    BOOSTER = "booster"
    SECOND_BOOSTER = "second_booster"


@dataclass(frozen=True)
class NextDose:
    dose_number: int
    kind: str  # NextKind
    due_from: dt.date  # not before this day
    overdue_after: dt.date | None  # past this day the person is overdue (None: due, no deadline)

    def overdue(self, today: dt.date) -> bool:
        """Overdue for a dose of the course past its maximum interval; a booster as soon as due."""
        if self.overdue_after is not None:
            return today > self.overdue_after
        return today >= self.due_from


def next_dose(schedule: Schedule, *, doses: int, last: dt.date, age: int) -> NextDose | None:
    """The next dose of someone who had `doses` doses, the last on `last`, aged `age` now; None
    when nothing more is due (course and boosters done, or no second booster at that age).
    The course follows the product of the first dose."""
    if doses < 1:
        raise ValueError("no dose given: the person is unvaccinated, not due")
    days = dt.timedelta
    if doses < schedule.primary_doses:
        return NextDose(
            doses + 1,
            NextKind.PRIMARY,
            last + days(schedule.interval_min_days),
            last + days(schedule.interval_max_days),
        )
    if doses == schedule.primary_doses:
        return NextDose(doses + 1, NextKind.BOOSTER, last + days(schedule.booster_after_days), None)
    if doses == schedule.primary_doses + 1 and age >= schedule.second_booster_min_age:
        return NextDose(
            doses + 1,
            NextKind.SECOND_BOOSTER,
            last + days(schedule.second_booster_after_days),
            None,
        )
    return None


def earliest(schedule: Schedule, *, doses: int, last: dt.date | None, age: int) -> dt.date | None:
    """The first day dose `doses + 1` may be given (None: any day, or nothing more is due)."""
    if doses == 0 or last is None:
        return None
    step = next_dose(schedule, doses=doses, last=last, age=age)
    return step.due_from if step else None


def levels(schedule: Schedule, doses: int) -> tuple[bool, bool, bool, bool]:
    """(first dose, full course, booster, second booster) for someone with `doses` doses."""
    p = schedule.primary_doses
    return doses >= 1, doses >= p, doses >= p + 1, doses >= p + 2


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on `day` (a 29 February birthday counts on 1 March in other years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def band_of(age: int) -> int:
    """The AgeBand of an age."""
    band = AgeBand.UNDER_THREE
    for value, low in BAND_MIN_AGE.items():
        if age >= low:
            band = value
    return int(band)


def band_cutoffs(day: dt.date) -> list[tuple[int, dt.date]]:
    """(band, latest birth date in it) from the oldest band down: someone born on or before the
    date is at least the band's age on `day`. One CASE over birth dates, no age arithmetic in SQL."""
    out = []
    for band, low in sorted(BAND_MIN_AGE.items(), key=lambda kv: -kv[1]):
        out.append((band, _years_before(day, low)))
    return out


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February: the birthday counts on 1 March
        return day.replace(year=day.year - years, day=28)
