"""Rt (Cori et al. 2013) against EpiEstim's own output, a loop oracle and a simulated outbreak."""

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from scipy import stats

from fangkong.analytics.growth import growth_rate, turning_point
from fangkong.analytics.rt import (
    discretise_si,
    fill_missing_days,
    read_incidence_csv,
    rt_cori,
    rt_cori_many,
)

DATA = Path(__file__).parent / "data"
D = dt.date.fromisoformat


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- reference


def test_discretise_si_matches_epiestim_discr_si():
    expected = np.array([float(r["w"]) for r in read_rows(DATA / "flu2009_epiestim_si_distr.csv")])
    w = discretise_si(2.6, 1.5, 31)
    assert w[0] == 0
    # EpiEstim printed 7 significant digits; far in the tail both it and we lose the last digits
    # to cancellation between nearly equal CDF terms (k = 29 differs by 4e-15).
    np.testing.assert_allclose(w, expected, rtol=1e-6, atol=1e-13)


@pytest.mark.parametrize(
    "mean,sd", [(2.6, 1.5), (4.7, 2.9), (8.4, 3.8), (14.9, 3.9), (22, 8), (1.2, 0.1), (3, 6)]
)
def test_discretise_si_sums_to_one_and_keeps_the_mean(mean, sd):
    # The SI cases of EpiEstim's own discr_si tests.
    w = discretise_si(mean, sd, 400)
    assert w[0] == 0
    assert np.all(w >= 0)
    assert w.sum() == pytest.approx(1, abs=1e-6)
    assert np.sum(np.arange(w.size) * w) == pytest.approx(mean, abs=1e-4)


@pytest.mark.parametrize("mean,sd", [(1.0, 1.0), (0.5, 1.0), (3.0, 0.0), (3.0, -1.0)])
def test_discretise_si_rejects_impossible_serial_intervals(mean, sd):
    with pytest.raises(ValueError):
        discretise_si(mean, sd, 10)


def test_flu2009_matches_epiestim_parametric_si():
    dates, cases = read_incidence_csv(DATA / "flu2009_incidence.csv")
    expected = read_rows(DATA / "flu2009_epiestim_parametric_si.csv")
    rows = rt_cori(dates, cases, si_mean=2.6, si_sd=1.5, window=7)
    assert [r.date for r in rows] == [D(e["date_end"]) for e in expected]
    assert [r.window_start for r in rows] == [D(e["date_start"]) for e in expected]

    def col(name):
        return np.array([float(e[name]) for e in expected])

    rtol = 1e-6  # R printed 7-8 significant digits
    np.testing.assert_allclose([r.rt_mean for r in rows], col("mean_r"), rtol=rtol)
    np.testing.assert_allclose([r.rt_sd for r in rows], col("std_r"), rtol=rtol)
    np.testing.assert_allclose([r.rt_lower for r in rows], col("quantile_0_025_r"), rtol=rtol)
    np.testing.assert_allclose([r.rt_upper for r in rows], col("quantile_0_975_r"), rtol=rtol)
    counts = np.array([cases])
    median = rt_cori_many(counts, si_mean=2.6, si_sd=1.5).quantile(0.5)[0]
    np.testing.assert_allclose(median, col("median_r"), rtol=rtol)


# --------------------------------------------------------------------------- oracle


def oracle(incidence, mu, sigma, window):
    """Cori et al. 2013 written out day by day, sharing no code with the module."""
    T = len(incidence)
    a, b = ((mu - 1) / sigma) ** 2, sigma**2 / (mu - 1)

    def F(x, shape):
        return stats.gamma.cdf(x, shape, scale=b) if x > 0 else 0.0

    w = [0.0]
    for k in range(1, T):
        v = k * F(k, a) + (k - 2) * F(k - 2, a) - 2 * (k - 1) * F(k - 1, a)
        v += a * b * (2 * F(k - 1, a + 1) - F(k - 2, a + 1) - F(k, a + 1))
        w.append(max(v, 0.0))
    lam = [math.nan] + [sum(incidence[t - s] * w[s] for s in range(1, t + 1)) for t in range(1, T)]
    # EpiEstim's rule: no estimate for a window ending (1-based) on or before the SI's mean.
    mean_si = sum(k * wk for k, wk in enumerate(w))
    out = []
    for end in range(window, T):
        if end + 1 <= mean_si:
            continue
        days = range(end - window + 1, end + 1)
        shape = 1 + sum(incidence[t] for t in days)
        scale = 1 / (1 / 5 + sum(lam[t] for t in days))
        out.append(
            (
                end,
                shape * scale,
                stats.gamma.ppf(0.025, shape, scale=scale),
                stats.gamma.ppf(0.975, shape, scale=scale),
            )
        )
    return out


@pytest.mark.parametrize("window", [1, 3, 7, 14])
def test_many_series_match_a_day_by_day_oracle(window):
    rng = np.random.default_rng(20261123)
    incidence = rng.poisson(rng.uniform(0, 40, size=(5, 1)), size=(5, 45))
    incidence[2, 10:25] = 0  # a quiet spell: windows with no cases at all
    est = rt_cori_many(incidence, si_mean=4.7, si_sd=2.9, window=window)
    for i, series in enumerate(incidence.tolist()):
        expected = oracle(series, 4.7, 2.9, window)
        assert est.t_end.tolist() == [e[0] for e in expected]
        np.testing.assert_allclose(est.mean[i], [e[1] for e in expected], rtol=1e-10)
        np.testing.assert_allclose(est.lower[i], [e[2] for e in expected], rtol=1e-9)
        np.testing.assert_allclose(est.upper[i], [e[3] for e in expected], rtol=1e-9)


def test_a_window_with_no_cases_and_no_infectivity_falls_back_on_the_prior():
    est = rt_cori_many(np.zeros((1, 10)), si_mean=2.6, si_sd=1.5, window=7)
    assert est.mean[0] == pytest.approx([5.0] * 3)
    # Gamma(shape 1, scale 5) is the exponential with mean 5.
    assert est.lower[0] == pytest.approx([-5 * math.log(0.975)] * 3)
    assert est.upper[0] == pytest.approx([-5 * math.log(0.025)] * 3)


def test_first_day_cases_are_imported():
    # They count in the infectivity of later days but never as locally infected cases.
    counts = np.array([[100, 2, 3, 4, 5]])
    est = rt_cori_many(counts, si_mean=2.6, si_sd=1.5, window=4)
    assert est.shape[0].tolist() == [1 + 2 + 3 + 4 + 5]
    fewer = rt_cori_many(np.array([[1, 2, 3, 4, 5]]), si_mean=2.6, si_sd=1.5, window=4)
    assert est.mean[0, 0] < fewer.mean[0, 0]


def test_first_estimate_is_on_day_window_plus_one():
    est = rt_cori_many(np.ones((1, 20)), si_mean=2.6, si_sd=1.5, window=7)
    assert est.t_end.tolist() == list(range(7, 20))  # 0-based: day 8 to day 20
    assert rt_cori_many(np.ones((1, 7)), si_mean=2.6, si_sd=1.5).t_end.size == 0


def test_windows_ending_before_the_mean_si_are_left_out_as_epiestim_does():
    # Mean SI 10.5 days, window 3: EpiEstim gives NA while t_end <= 10.5 (1-based).
    est = rt_cori_many(np.ones((1, 30)), si_mean=10.5, si_sd=2, window=3)
    assert est.t_end[0] + 1 == 11


def test_renewal_simulation_recovers_the_true_rt():
    rng = np.random.default_rng(7)
    T, change = 80, 40
    true_r = np.where(np.arange(T) < change, 1.5, 0.7)
    w = discretise_si(2.6, 1.5, T - 1)
    incidence = np.zeros(T)
    incidence[0] = 50
    for t in range(1, T):
        lam = np.dot(incidence[t - 1 :: -1], w[1 : t + 1])
        incidence[t] = rng.poisson(true_r[t] * lam)
    assert incidence.max() > 10_000
    window = 7
    est = rt_cori_many(incidence[np.newaxis, :], si_mean=2.6, si_sd=1.5, window=window)
    starts = est.t_end - window + 1
    # Windows that straddle the change mix the two regimes; judge the others.
    clean = (est.t_end < change) | (starts >= change)
    truth = true_r[est.t_end][clean]
    mean, lower, upper = est.mean[0][clean], est.lower[0][clean], est.upper[0][clean]
    assert np.max(np.abs(mean - truth)) < 0.06
    assert np.mean(np.abs(mean - truth)) < 0.02
    covered = (lower <= truth) & (truth <= upper)
    assert covered.mean() >= 0.85


# --------------------------------------------------------------------------- input


def test_fill_missing_days_counts_absent_days_as_zero():
    days, counts = fill_missing_days([D("2026-11-01"), D("2026-11-04")], [3, 5])
    assert days == [D("2026-11-01"), D("2026-11-02"), D("2026-11-03"), D("2026-11-04")]
    assert counts.tolist() == [3, 0, 0, 5]
    with pytest.raises(ValueError, match="ascending"):
        fill_missing_days([D("2026-11-04"), D("2026-11-01")], [1, 1])
    with pytest.raises(ValueError, match="whole numbers"):
        fill_missing_days([D("2026-11-01")], [2.5])


def test_rt_cori_fills_gaps_like_explicit_zeros():
    gappy = rt_cori(
        [D("2026-11-01"), D("2026-11-02"), D("2026-11-05"), D("2026-11-10")],
        [4, 6, 9, 3],
        si_mean=2.6,
        si_sd=1.5,
        window=3,
    )
    full = rt_cori(
        [D("2026-11-01") + dt.timedelta(days=i) for i in range(10)],
        [4, 6, 0, 0, 9, 0, 0, 0, 0, 3],
        si_mean=2.6,
        si_sd=1.5,
        window=3,
    )
    assert gappy == full
    assert gappy[0].date == D("2026-11-04")


# --------------------------------------------------------------------------- CLI

SMALL = """date,cases
2026-11-01,3
2026-11-02,5
2026-11-03,4
2026-11-04,8
2026-11-06,12
2026-11-07,9
2026-11-08,15
2026-11-09,11
2026-11-10,20
"""

SMALL_RT = """date,rt_mean,rt_lower,rt_upper
2026-11-04,2.7859,1.6511,4.2127
2026-11-05,1.2546,0.6680,2.0230
2026-11-06,1.6858,1.0436,2.4797
2026-11-07,1.5408,0.9656,2.2482
2026-11-08,2.1397,1.5065,2.8822
2026-11-09,1.5876,1.1119,2.1466
2026-11-10,1.6311,1.1985,2.1294
"""


def run_rt(tmp_path, text, *extra):
    source = tmp_path / "incidence.csv"
    source.write_text(text)
    out = tmp_path / "rt.csv"
    call_command(
        "analytics",
        "rt",
        "--incidence",
        str(source),
        "--si-mean",
        "2.6",
        "--si-sd",
        "1.5",
        "--out",
        str(out),
        *extra,
    )
    return out


def test_cli_writes_the_expected_csv(tmp_path, capsys):
    out = run_rt(tmp_path, SMALL, "--window", "3")
    # 2026-11-05 is missing from the input and counts as 0 cases.
    assert out.read_text() == SMALL_RT
    assert capsys.readouterr().out == (
        f"7 Rt estimates from 2026-11-04 to 2026-11-10 written to {out}\n"
    )


def test_cli_flu2009_default_window_matches_epiestim_to_four_decimals(tmp_path):
    out = tmp_path / "rt.csv"
    call_command(
        "analytics",
        "rt",
        f"--incidence={DATA / 'flu2009_incidence.csv'}",
        "--si-mean=2.6",
        "--si-sd=1.5",
        f"--out={out}",
        verbosity=0,
    )
    got = read_rows(out)
    expected = read_rows(DATA / "flu2009_epiestim_parametric_si.csv")
    assert [g["date"] for g in got] == [e["date_end"] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert g["rt_mean"] == f"{float(e['mean_r']):.4f}"
        assert g["rt_lower"] == f"{float(e['quantile_0_025_r']):.4f}"
        assert g["rt_upper"] == f"{float(e['quantile_0_975_r']):.4f}"


def test_cli_with_too_few_days_writes_only_the_header(tmp_path, capsys):
    out = run_rt(tmp_path, "date,cases\n2026-11-01,3\n2026-11-02,4\n")
    assert out.read_text() == "date,rt_mean,rt_lower,rt_upper\n"
    assert "no Rt estimate: 2 days of data" in capsys.readouterr().out


@pytest.mark.parametrize(
    "text,message",
    [
        ("date,cases\n2026-11-01,3\n2026-11-02,-1\n", "line 3: cases -1 is negative"),
        ("date,cases\n2026-11-01,3\n\n2026-11-03,2.5\n", "line 4: cases '2.5' is not a whole"),
        ("date,cases\n2026-11-01,three\n", "line 2: cases 'three' is not a whole"),
        ("date,cases\n2026-11-01,\n", "line 2: cases '' is not a whole"),
        ("date,cases\n11/01/2026,3\n", "line 2: date '11/01/2026' is not a YYYY-MM-DD"),
        ("date,cases\n2026-02-30,3\n", "line 2: date '2026-02-30' is not a YYYY-MM-DD"),
        ("date,cases\n2026-11-01,3,4\n", "line 2: expected 2 fields, got 3"),
        ("day,count\n2026-11-01,3\n", "line 1: the header must be 'date,cases'"),
        ("", "line 1: the header must be 'date,cases'"),
        ("date,cases\n2026-11-01,3\n2026-11-01,4\n", "line 3: date 2026-11-01 repeats line 2"),
        ("date,cases\n2026-11-02,3\n2026-11-01,4\n", "line 3: date 2026-11-01 comes before"),
    ],
)
def test_cli_rejects_bad_input_naming_the_line(tmp_path, text, message):
    with pytest.raises(CommandError, match=message):
        run_rt(tmp_path, text)


def test_cli_rejects_a_serial_interval_mean_of_one_day_or_less(tmp_path):
    source = tmp_path / "incidence.csv"
    source.write_text(SMALL)
    with pytest.raises(CommandError, match="mean must be > 1"):
        call_command(
            "analytics",
            "rt",
            f"--incidence={source}",
            "--si-mean=1",
            "--si-sd=1",
            f"--out={tmp_path / 'rt.csv'}",
        )


def test_cli_reports_a_missing_input_file(tmp_path):
    absent = tmp_path / "absent.csv"
    with pytest.raises(CommandError, match="No such file"):
        call_command(
            "analytics",
            "rt",
            f"--incidence={absent}",
            "--si-mean=2.6",
            "--si-sd=1.5",
            f"--out={tmp_path / 'rt.csv'}",
        )


# --------------------------------------------------------------------------- growth


def test_growth_rate_of_exact_exponential_growth():
    cases = 100 * np.exp(0.1 * np.arange(20))
    g = growth_rate(cases, window=7)
    assert g.r == pytest.approx(0.1, abs=1e-9)
    assert g.r_lower < 0.1 < g.r_upper
    assert g.doubling_time == pytest.approx(math.log(2) / 0.1, rel=1e-8)
    assert g.doubling_lower < g.doubling_time < g.doubling_upper


def test_growth_rate_of_a_decline_has_no_doubling_time():
    cases = np.rint(5000 * np.exp(-0.08 * np.arange(14)))
    g = growth_rate(cases, window=14)
    assert g.r == pytest.approx(-0.08, abs=2e-3)
    assert g.r_upper < 0
    assert g.doubling_time is None and g.doubling_lower is None and g.doubling_upper is None


def test_growth_rate_interval_covers_the_truth_with_poisson_noise():
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(200):
        cases = rng.poisson(30 * np.exp(0.05 * np.arange(10)))
        g = growth_rate(cases, window=10)
        hits += g.r_lower <= 0.05 <= g.r_upper
    assert hits >= 180


def test_growth_rate_handles_zero_days_and_undefined_fits():
    g = growth_rate([0, 1, 0, 2, 0, 3, 4], window=7)
    assert g is not None and g.r > 0
    assert growth_rate([0, 0, 0, 0, 0, 0, 9], window=7) is None  # one day with cases
    assert growth_rate([0] * 7, window=7) is None
    assert growth_rate([1, 2, 3], window=7) is None  # shorter than the window
    with pytest.raises(ValueError):
        growth_rate([1, -2, 3], window=2)


def test_turning_point():
    falling = [50, 48, 47, 45, 44, 40, 39, 35, 33, 30, 28, 27, 25, 22]
    below = [0.9] * 7
    assert turning_point(below, falling, days=7)
    assert not turning_point([1.05] + [0.9] * 6, falling, days=7)
    assert not turning_point([0.9] * 6 + [float("nan")], falling, days=7)
    assert not turning_point(below, falling[::-1], days=7)  # cases rising
    assert not turning_point(below, falling[-10:], days=7)  # under two weeks of cases
    assert not turning_point([0.9] * 5, falling, days=7)  # under a week of Rt
    assert turning_point([1.2, 1.1] + below, falling, days=7)
    assert turning_point([0.9] * 3, falling, days=3)
