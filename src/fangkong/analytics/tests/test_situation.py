"""Situation analysis: curves, the turning point, the forecast on simulated data, resource demand."""

import datetime as dt

import numpy as np
import pytest

from fangkong.analytics import rt, situation
from fangkong.command.tests.factories import CaseFactory
from fangkong.people.models import Person
from fangkong.people.tests.factories import PersonFactory
from fangkong.tracing.models import Case

TODAY = dt.date(2022, 4, 30)
SI = {"si_mean": 4.0, "si_sd": 2.5}


def simulate(r_of_day, days: int, seed: int, start: int = 10) -> np.ndarray:
    """A renewal-process outbreak with a known Rt, Poisson counts."""
    rng = np.random.default_rng(seed)
    w = rt.discretise_si(SI["si_mean"], SI["si_sd"], days)
    cases = np.zeros(days)
    cases[0] = start
    for t in range(1, days):
        lam = cases[:t] @ w[t:0:-1]
        cases[t] = rng.poisson(r_of_day(t) * lam)
    return cases


def expected_future(history: np.ndarray, r: float, horizon: int) -> np.ndarray:
    w = rt.discretise_si(SI["si_mean"], SI["si_sd"], history.size + horizon)
    series = list(history)
    for t in range(history.size, history.size + horizon):
        series.append(r * float(np.dot(series[:t], w[t:0:-1])))
    return np.array(series[history.size :])


@pytest.mark.parametrize("r_true", [1.3, 0.7])
def test_forecast_covers_the_known_future_of_a_simulated_outbreak(r_true):
    history = simulate(lambda t: r_true, 40, seed=11, start=3000 if r_true < 1 else 20)
    series = situation.rt_series(history, [str(i) for i in range(40)], {**situation.DEFAULTS})
    assert series.mean[-1] == pytest.approx(r_true, rel=0.12)
    projection = situation.forecast(
        history,
        horizon=10,
        shape=series.last_shape,
        scale=series.last_scale,
        simulations=2000,
        seed=3,
        **SI,
    )
    truth = expected_future(history, r_true, 10)
    lower, upper, median = (np.array(projection[k]) for k in ("lower", "upper", "median"))
    assert np.all(lower <= truth) and np.all(truth <= upper)
    assert np.allclose(median, truth, rtol=0.25, atol=3)
    # Growing means a widening band upwards; shrinking falls with it.
    assert (median[-1] > median[0]) == (r_true > 1)
    # Seeded: the same band on every refresh.
    again = situation.forecast(
        history,
        horizon=10,
        shape=series.last_shape,
        scale=series.last_scale,
        simulations=2000,
        seed=3,
        **SI,
    )
    assert again["upper"] == projection["upper"]


def test_occupancy_and_run_out_date():
    # 60 rooms taken today; 2 cases a day bring 16 contacts each day for 7 days.
    rooms = situation.occupancy([16.0] * 8, current=60, stay=7)
    assert rooms == [67.4, 74.9, 82.3, 89.7, 97.1, 104.6, 112.0, 112.0]
    assert situation.run_out_date(rooms, 100, TODAY) == TODAY + dt.timedelta(days=5)
    assert situation.run_out_date(rooms, 200, TODAY) is None
    assert situation.run_out_date(rooms, None, TODAY) is None


def test_resource_demand_against_capacity(tree):
    projection = {"median": [2.0] * 8, "upper": [4.0] * 8}
    figures = {
        "rooms_total": 100,
        "rooms_occupied": 60,
        "control_total": 200,
        "beds_total_fangcang": 30,
        "beds_occupied_fangcang": 20,
    }
    rows = {
        r["key"]: r
        for r in situation.resource_demand(
            node=tree["city"], today=TODAY, projection=projection, figures=figures
        )
    }
    rooms = rows["rooms"]
    assert rooms["median"][:3] == [67.4, 74.9, 82.3]
    assert rooms["runs_out_on"] == dt.date(2022, 5, 6)
    # The pessimistic band (4 cases a day: 32 contacts) fills them on the second day.
    assert rooms["may_run_out_on"] == dt.date(2022, 5, 2)
    cabin = rows["beds_fangcang"]
    # 85 % of 2 cases a day stay 10 days; today's 20 patients leave evenly over 10 days.
    assert cabin["median"][:2] == [19.7, 19.4]
    assert cabin["runs_out_on"] is None and cabin["capacity"] == 30
    # No bed figures from care yet: demand without a capacity, no run-out date.
    assert rows["beds_icu"]["capacity"] is None
    assert rows["tests"]["capacity"] is None


def _bulk_cases(grid, counts_by_day: dict[dt.date, int], community=True):
    people = [PersonFactory.build(grid=grid) for _ in range(sum(counts_by_day.values()))]
    Person.objects.bulk_create(people)
    people = list(Person.objects.filter(jpath=grid.path).order_by("-id")[: len(people)])
    rows = []
    it = iter(people)
    for day, n in counts_by_day.items():
        for _ in range(n):
            case = CaseFactory.build(person=next(it), report_date=day)
            case.found_by = "pool_screening" if community else "under_control"
            rows.append(case)
    Case.objects.bulk_create(rows)


def test_turning_point_detected_only_after_the_decline(tree):
    start = TODAY - dt.timedelta(days=59)
    # Growth of 10 % a day to a peak of 81 on day 44, then a fall of 18 % a day (Rt ~ 0.45).
    shape = {
        start + dt.timedelta(days=i): int(round(np.exp(0.1 * min(i, 44) - 0.2 * max(0, i - 44))))
        for i in range(60)
    }
    _bulk_cases(tree["grid_a"], shape)
    result = situation.situation(node=tree["city"], today=TODAY)
    assert result["turning_point"] is True
    assert result["rt_now"]["upper"] < 1
    assert result["rt_below_one_days"] >= 7
    assert result["community_week"] < result["community_week_before"]
    assert result["curve"]["total"] == list(shape.values())
    # At the peak the upper bound is still above 1: no turning point yet.
    at_peak = situation.situation(node=tree["city"], today=start + dt.timedelta(days=44))
    assert at_peak["turning_point"] is False
    # A stricter rule (more days below 1 than have passed) does not call it either.
    strict = situation.situation(
        node=tree["city"], today=TODAY, cfg={**situation.DEFAULTS, "turning_days": 40}
    )
    assert strict["turning_point"] is False


def test_epicurve_by_report_and_onset_and_children(tree, people):
    day = TODAY
    CaseFactory(person=people["a"][0], report_date=day, onset_date=day - dt.timedelta(days=2))
    CaseFactory(
        person=people["a"][1],
        report_date=day,
        classification="asymptomatic",
        onset_date=None,
        found_by="under_control",
        under_control_when_found=True,
    )
    CaseFactory(
        person=people["c"][0],
        report_date=day - dt.timedelta(days=1),
        onset_date=day - dt.timedelta(days=2),
    )
    curve = situation.epicurve(node=tree["city"], start=day - dt.timedelta(days=2), end=day)
    assert curve["by_report"]["confirmed"] == [0, 1, 1]
    assert curve["by_report"]["asymptomatic"] == [0, 0, 1]
    assert curve["by_report"]["under_control"] == [0, 0, 1]
    assert curve["by_report"]["community"] == [0, 1, 1]
    assert curve["by_onset"] == [2, 0, 0]
    children = situation.child_series(node=tree["city"], start=day - dt.timedelta(days=2), end=day)
    assert [c.code for c in children["children"]] == ["320102", "320104"]
    assert children["counts"].tolist() == [[0, 0, 2], [0, 1, 0]]
    district = situation.epicurve(node=tree["district2"], start=day - dt.timedelta(days=2), end=day)
    assert district["total"] == [0, 1, 0]
