"""Policy arithmetic: day counting in Asia/Shanghai dates, step-downs, scheduled tests."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from fangkong.control.presets import PRESETS
from fangkong.control.services import local_day, plan_compute

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_ed8_close_contact():
    plan = plan_compute(date(2021, 6, 1), PRESETS["plan-ed8"][1]["close_contact"])
    assert plan.steps == [
        (1, "centralized", date(2021, 6, 1), date(2021, 6, 14)),
        (2, "home_monitoring", date(2021, 6, 15), date(2021, 6, 21)),
    ]
    assert [d for d, _ in plan.tests] == [1, 4, 7, 14, 16, 21]
    assert plan.tests[-2] == (16, date(2021, 6, 16))
    assert plan.end_date == date(2021, 6, 21)
    assert plan.measure_on(date(2021, 6, 14)) == "centralized"
    assert plan.measure_on(date(2021, 6, 15)) == "home_monitoring"
    assert plan.measure_on(date(2021, 6, 22)) is None


def test_ed9_and_nov_2022():
    ed9 = plan_compute(date(2022, 7, 1), PRESETS["plan-ed9"][1]["close_contact"])
    assert [d for d, _ in ed9.tests] == [1, 2, 3, 5, 7, 10]
    assert ed9.end_date == date(2022, 7, 10)
    secondary = plan_compute(date(2022, 7, 1), PRESETS["plan-ed9"][1]["secondary_contact"])
    assert secondary.steps == [(1, "home_isolation", date(2022, 7, 1), date(2022, 7, 7))]
    assert [d for d, _ in secondary.tests] == [1, 4, 7]
    nov = plan_compute(date(2022, 12, 30), PRESETS["nov-2022"][1]["close_contact"])
    assert [d for d, _ in nov.tests] == [1, 2, 3, 5, 6, 8]
    assert nov.end_date == date(2023, 1, 6)  # 8 days, across the new year
    assert PRESETS["nov-2022"][1]["secondary_contact"] == []


def test_day_one_is_the_shanghai_date():
    # 23:30 UTC on 31 May is 07:30 on 1 June in Shanghai; 15:59 UTC is still 23:59 of that day.
    assert local_day(datetime(2021, 5, 31, 23, 30, tzinfo=UTC)) == date(2021, 6, 1)
    assert local_day(datetime(2021, 6, 1, 15, 59, tzinfo=UTC)) == date(2021, 6, 1)
    assert local_day(datetime(2021, 6, 1, 16, 0, tzinfo=UTC)) == date(2021, 6, 2)


steps_strategy = st.lists(
    st.tuples(
        st.sampled_from(["centralized", "home_isolation", "home_monitoring"]),
        st.integers(1, 21),
        st.lists(st.integers(1, 21), max_size=6),
    ),
    min_size=1,
    max_size=3,
)


@given(
    moment=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2023, 12, 31), timezones=st.just(UTC)
    ),
    steps=steps_strategy,
)
def test_plan_properties(moment, steps):
    start = local_day(moment)
    assert start == moment.astimezone(SHANGHAI).date()
    plan = plan_compute(start, steps)
    total = sum(days for _m, days, _t in steps)
    # Day 1 is the start date, so an n-day order ends n-1 days later; steps tile without gaps.
    assert plan.end_date == start + timedelta(days=total - 1)
    assert plan.steps[0][2] == start
    for (_s, _m, _a, end), (_s2, _m2, begin, _b) in zip(plan.steps, plan.steps[1:], strict=False):
        assert begin == end + timedelta(days=1)
    for day, when in plan.tests:
        assert when == start + timedelta(days=day - 1)
        assert start <= when <= plan.end_date
    assert len({d for d, _ in plan.tests}) == len(plan.tests)
    every_day = [start + timedelta(days=i) for i in range(total)]
    assert [plan.measure_on(d) for d in every_day] == [
        m for m, days, _t in steps for _ in range(days)
    ]
