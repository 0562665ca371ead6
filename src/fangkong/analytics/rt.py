"""Time-varying reproduction number Rt by the method of Cori et al. (2013), as EpiEstim computes it.

The conventions follow EpiEstim's ``estimate_R(method = "parametric_si")`` with its default
config, so that our numbers can be checked against EpiEstim's own (see
``tests/data/README.md``):

* The serial interval (SI) is a gamma shifted by one day and discretised by ``discretise_si``
  exactly as EpiEstim's ``discr_si`` (Cori et al. 2013, web appendix 11). ``w_0 = 0``. The
  vector is cut at ``k = T - 1`` and **not** renormalised, as EpiEstim does: the lost tail is
  the probability of an SI longer than the whole series.
* All cases of the first day are treated as imported: they infect others (they count in the
  infectivity ``Lambda``) but are not themselves the result of local transmission. With the
  default windows, which start on day 2, this changes nothing, but it is why day 1 has no Rt.
* ``Lambda_t = sum_{s=1}^{t-1} I_{t-s} w_s`` over the whole history before day t.
* The window that ends on day t covers days ``t - window + 1 .. t`` (1-based days). Estimates
  start at ``t = window + 1``, i.e. EpiEstim's ``t_start = 2:(T - window + 1)``; a window whose
  end is not after the mean of the discretised SI gives no estimate (EpiEstim returns NA there
  and drops the row; it matters only for SIs longer than the window).
* The prior on R is a gamma with mean 5 and sd 5 (shape 1, scale 5). The posterior is a gamma
  with shape ``a0 + sum(I)`` and scale ``1 / (1/b0 + sum(Lambda))`` over the window; a window
  with no cases and no infectivity still has a defined (prior-dominated) posterior.
* The credible interval is the 2.5 % and 97.5 % gamma quantiles.

Everything is vectorised over windows and over series: ``rt_cori_many`` estimates Rt for every
district (or street, or grid) in one call.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import gammainc, gammaincinv

MEAN_PRIOR = 5.0
STD_PRIOR = 5.0
CREDIBLE_LEVEL = 0.95


def discretise_si(mean: float, sd: float, k_max: int) -> np.ndarray:
    """P(SI = k) for k = 0..k_max of a gamma SI shifted by one day, as EpiEstim's ``discr_si``.

    The gamma of the SI minus one day has shape ``((mean-1)/sd)^2`` and scale
    ``sd^2/(mean-1)``. Summed over all k the weights are exactly 1 (the formula telescopes);
    cut at ``k_max`` they sum to 1 minus the tail beyond it.
    """
    if not (math.isfinite(mean) and math.isfinite(sd)):
        raise ValueError("the serial interval mean and sd must be finite numbers")
    if mean <= 1:
        raise ValueError(f"the serial interval mean must be > 1 day (got {mean})")
    if sd <= 0:
        raise ValueError(f"the serial interval sd must be > 0 (got {sd})")
    if k_max < 0:
        raise ValueError("k_max must be >= 0")
    a = ((mean - 1) / sd) ** 2
    b = sd**2 / (mean - 1)
    k = np.arange(k_max + 1, dtype=float)

    def cdf(x: np.ndarray, shape: float) -> np.ndarray:
        # pgamma is 0 below 0; gammainc would return nan for negative x.
        return np.where(x > 0, gammainc(shape, np.maximum(x, 0) / b), 0.0)

    w = k * cdf(k, a) + (k - 2) * cdf(k - 2, a) - 2 * (k - 1) * cdf(k - 1, a)
    w += a * b * (2 * cdf(k - 1, a + 1) - cdf(k - 2, a + 1) - cdf(k, a + 1))
    # Rounding makes the far tail a hair below zero; EpiEstim clips it the same way.
    return np.maximum(w, 0.0)


@dataclass(frozen=True)
class RtEstimates:
    """Posterior of Rt per series and window; every array is [n_series, n_windows].

    ``t_end`` holds the 0-based index of the last day of each window (the day the estimate is
    reported on); the window starts ``window - 1`` days earlier.
    """

    t_end: np.ndarray
    shape: np.ndarray
    scale: np.ndarray
    si: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.shape * self.scale

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(self.shape) * self.scale

    def quantile(self, p: float) -> np.ndarray:
        return gammaincinv(self.shape, p) * self.scale

    @property
    def lower(self) -> np.ndarray:
        return self.quantile((1 - CREDIBLE_LEVEL) / 2)

    @property
    def upper(self) -> np.ndarray:
        return self.quantile(1 - (1 - CREDIBLE_LEVEL) / 2)


def rt_cori_many(
    incidence: np.ndarray,
    *,
    si_mean: float,
    si_sd: float,
    window: int = 7,
    mean_prior: float = MEAN_PRIOR,
    std_prior: float = STD_PRIOR,
) -> RtEstimates:
    """Rt of many daily incidence series at once: ``incidence`` is [n_series, T] of counts.

    All series share the same days; estimates are for the windows ending on days
    ``window .. T-1`` (0-based), minus those EpiEstim leaves undefined (see the module doc).
    """
    incid = np.asarray(incidence, dtype=float)
    if incid.ndim == 1:
        incid = incid[np.newaxis, :]
    if incid.ndim != 2:
        raise ValueError("incidence must be a 2-D array [n_series, T]")
    if np.any(~np.isfinite(incid)) or np.any(incid < 0):
        raise ValueError("incidence must be finite and non-negative")
    if window < 1:
        raise ValueError("window must be at least 1 day")
    if mean_prior <= 0 or std_prior <= 0:
        raise ValueError("the prior mean and sd must be > 0")
    n, T = incid.shape
    a_prior = (mean_prior / std_prior) ** 2
    b_prior = std_prior**2 / mean_prior

    w = discretise_si(si_mean, si_sd, max(T - 1, 0))
    # Lambda as a product with the upper-triangular Toeplitz matrix of w: one BLAS call for
    # all series, exact (no FFT round-off), and T is a few hundred days at most.
    lag = np.arange(T)[np.newaxis, :] - np.arange(T)[:, np.newaxis]
    infectivity = np.where(lag > 0, w[np.clip(lag, 0, None)], 0.0)
    lam = incid @ infectivity

    # Day 1 is all imported: it feeds Lambda above but is never "local" incidence.
    local = incid.copy()
    local[:, :1] = 0

    # EpiEstim computes the SI's mean over the vector padded to T+1 entries with a final 0.
    mean_si_discrete = float(np.sum(w * np.arange(T)))
    t_end = np.arange(window, T)
    t_end = t_end[t_end + 1 > mean_si_discrete]
    if t_end.size == 0:
        empty = np.empty((n, 0))
        return RtEstimates(t_end=t_end, shape=empty, scale=empty.copy(), si=w)

    # Sums over each window by strided views: exact sums, no cumulative-sum cancellation.
    first = t_end[0] - window + 1
    local_sums = sliding_window_view(local[:, first:], window, axis=1).sum(axis=-1)
    lam_sums = sliding_window_view(lam[:, first:], window, axis=1).sum(axis=-1)
    keep = t_end - t_end[0]
    shape = a_prior + local_sums[:, keep]
    scale = 1.0 / (1.0 / b_prior + lam_sums[:, keep])
    return RtEstimates(t_end=t_end, shape=shape, scale=scale, si=w)


@dataclass(frozen=True)
class RtRow:
    """One day's Rt: the posterior over the window ``window_start .. date``."""

    date: dt.date
    window_start: dt.date
    rt_mean: float
    rt_sd: float
    rt_lower: float
    rt_upper: float


def fill_missing_days(
    dates: Sequence[dt.date], cases: Sequence[int]
) -> tuple[list[dt.date], np.ndarray]:
    """Daily series from ascending dates: days absent from the data count as 0 cases."""
    if len(dates) != len(cases):
        raise ValueError("dates and cases differ in length")
    if not dates:
        return [], np.zeros(0, dtype=np.int64)
    for previous, current in zip(dates, dates[1:], strict=False):
        if current <= previous:
            raise ValueError(f"dates must be ascending and unique: {current} after {previous}")
    counts = np.asarray(cases)
    if not np.all(np.isfinite(counts)) or np.any(counts != np.round(counts)):
        raise ValueError("cases must be whole numbers")
    first = dates[0]
    span = (dates[-1] - first).days + 1
    filled = np.zeros(span, dtype=np.int64)
    filled[[(d - first).days for d in dates]] = counts.astype(np.int64)
    return [first + dt.timedelta(days=i) for i in range(span)], filled


def rt_cori(
    dates: Sequence[dt.date],
    cases: Sequence[int],
    *,
    si_mean: float,
    si_sd: float,
    window: int = 7,
) -> list[RtRow]:
    """Rt of one series, one row per day that has an estimate (the first is day window+1)."""
    days, counts = fill_missing_days(dates, cases)
    if np.any(counts < 0):
        raise ValueError("cases must be non-negative")
    est = rt_cori_many(counts[np.newaxis, :], si_mean=si_mean, si_sd=si_sd, window=window)
    mean, sd, lower, upper = (x[0] for x in (est.mean, est.sd, est.lower, est.upper))
    return [
        RtRow(
            date=days[t],
            window_start=days[t - window + 1],
            rt_mean=float(mean[i]),
            rt_sd=float(sd[i]),
            rt_lower=float(lower[i]),
            rt_upper=float(upper[i]),
        )
        for i, t in enumerate(est.t_end)
    ]


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COUNT = re.compile(r"[+-]?\d+")


def read_incidence_csv(path: str | Path) -> tuple[list[dt.date], list[int]]:
    """Read ``date,cases`` rows; errors name the file's line (the header is line 1)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != ["date", "cases"]:
            raise ValueError(f"{path}: line 1: the header must be 'date,cases'")
        dates: list[dt.date] = []
        cases: list[int] = []
        seen: dict[dt.date, int] = {}
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 2:
                raise ValueError(f"{path}: line {line}: expected 2 fields, got {len(row)}")
            raw_date, raw_cases = (cell.strip() for cell in row)
            try:
                if not _DATE.fullmatch(raw_date):
                    raise ValueError
                day = dt.date.fromisoformat(raw_date)
            except ValueError:
                raise ValueError(
                    f"{path}: line {line}: date {raw_date!r} is not a YYYY-MM-DD date"
                ) from None
            if not _COUNT.fullmatch(raw_cases):
                raise ValueError(f"{path}: line {line}: cases {raw_cases!r} is not a whole number")
            count = int(raw_cases)
            if count < 0:
                raise ValueError(f"{path}: line {line}: cases {count} is negative")
            if day in seen:
                raise ValueError(f"{path}: line {line}: date {day} repeats line {seen[day]}")
            if dates and day < dates[-1]:
                raise ValueError(
                    f"{path}: line {line}: date {day} comes before {dates[-1]}; "
                    "rows must be in ascending date order"
                )
            seen[day] = line
            dates.append(day)
            cases.append(count)
    return dates, cases
