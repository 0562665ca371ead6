"""Epidemic growth rate, doubling time and the turning-point check ("拿下拐点") for the dashboard.

``growth_rate`` fits a log-linear model to the trailing window of daily counts. The fit is a
Poisson regression ``log E[cases_t] = c + r t`` (maximum likelihood, by Newton's method) rather
than least squares on ``log(cases)``: it takes days with zero cases as they are, with no
``+0.5`` fudge, and weights days by their counts as Poisson noise asks. The 95 % interval is the
Wald interval, widened by the quasi-Poisson dispersion (Pearson chi-square over its degrees of
freedom) when the counts are noisier than Poisson, never narrowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

LN2 = math.log(2)


@dataclass(frozen=True)
class GrowthRate:
    """Daily exponential growth rate r with its interval, and the doubling time ln 2 / r.

    The doubling time and its bounds are None where they do not exist: no doubling when
    r <= 0, and an unbounded end of the interval when the matching bound of r is <= 0.
    """

    r: float
    r_lower: float
    r_upper: float
    doubling_time: float | None
    doubling_lower: float | None
    doubling_upper: float | None
    window: int


def _poisson_loglinear(y: np.ndarray) -> tuple[float, float, float] | None:
    """(intercept, slope, slope variance) of a Poisson log-linear fit on days 0..n-1, centred."""
    n = y.size
    t = np.arange(n, dtype=float) - (n - 1) / 2
    X = np.column_stack([np.ones(n), t])
    beta = np.array([math.log(y.mean()), 0.0])

    def loglik(b: np.ndarray) -> float:
        eta = X @ b
        return float(np.sum(y * eta - np.exp(eta)))

    current = loglik(beta)
    for _ in range(100):
        mu = np.exp(X @ beta)
        info = X.T @ (mu[:, None] * X)
        step = np.linalg.solve(info, X.T @ (y - mu))
        # The likelihood is concave, but a full Newton step can still overshoot on steep data.
        scale = 1.0
        while scale > 1e-8:
            candidate = beta + scale * step
            value = loglik(candidate)
            if value >= current - 1e-12 * abs(current):
                break
            scale /= 2
        beta, current = candidate, value
        if np.max(np.abs(scale * step)) < 1e-12:
            break
    else:
        return None
    mu = np.exp(X @ beta)
    cov = np.linalg.inv(X.T @ (mu[:, None] * X))
    return float(beta[0]), float(beta[1]), float(cov[1, 1])


def growth_rate(
    cases: Sequence[float] | np.ndarray, window: int = 7, level: float = 0.95
) -> GrowthRate | None:
    """Growth rate over the last ``window`` days of daily ``cases`` (oldest first).

    Returns None when it is not defined: fewer than ``window`` days, or fewer than two days
    with cases in the window (the fit then has no finite maximum).
    """
    if window < 2:
        raise ValueError("window must be at least 2 days")
    values = np.asarray(cases, dtype=float)
    if values.ndim != 1:
        raise ValueError("cases must be one series")
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ValueError("cases must be finite and non-negative")
    if values.size < window:
        return None
    y = values[-window:]
    if np.count_nonzero(y) < 2:
        return None
    fit = _poisson_loglinear(y)
    if fit is None:
        return None
    _, r, var = fit
    mu = np.exp(fit[0] + r * (np.arange(window) - (window - 1) / 2))
    if window > 2:
        dispersion = max(1.0, float(np.sum((y - mu) ** 2 / mu)) / (window - 2))
        var *= dispersion
    z = NormalDist().inv_cdf(0.5 + level / 2)
    half = z * math.sqrt(var)
    lower, upper = r - half, r + half
    return GrowthRate(
        r=r,
        r_lower=lower,
        r_upper=upper,
        doubling_time=LN2 / r if r > 0 else None,
        doubling_lower=LN2 / upper if upper > 0 else None,
        doubling_upper=LN2 / lower if lower > 0 else None,
        window=window,
    )


def turning_point(
    rt_upper: Sequence[float] | np.ndarray,
    new_cases: Sequence[float] | np.ndarray,
    days: int = 7,
    mean_window: int = 7,
) -> bool:
    """True when the outbreak has turned, judged on the latest day of both series.

    Both conditions must hold: the upper bound of Rt's credible interval has been below 1 on
    each of the last ``days`` days (so even the pessimistic reading says each case infects
    fewer than one other), and the mean of new cases over the last ``mean_window`` days is
    below the mean over the ``mean_window`` days before them (week-on-week, which ignores the
    weekday pattern of reporting). Missing (NaN) values count as not below 1, and too short a
    series gives False.
    """
    if days < 1 or mean_window < 1:
        raise ValueError("days and mean_window must be at least 1")
    upper = np.asarray(rt_upper, dtype=float)
    cases = np.asarray(new_cases, dtype=float)
    if upper.size < days or cases.size < 2 * mean_window:
        return False
    recent = upper[-days:]
    if not bool(np.all(recent < 1.0)):
        return False
    this_week = cases[-mean_window:].mean()
    last_week = cases[-2 * mean_window : -mean_window].mean()
    return bool(this_week < last_week)
