"""Benchmark of Rt for every district, street and grid at once: `.venv/bin/python bench/rt.py`.

    .venv/bin/python bench/rt.py [--days 60] [--runs 7]

Synthetic daily counts (Poisson around an epidemic curve that rises and turns, one random
curve per series, fixed seed) for 16 districts, 200 streets and 3,000 grids. Each timing is
the median of --runs runs of `rt_cori_many` with the posterior mean alone, and with both 95 %
bounds too (everything a dashboard draws; the gamma quantiles are most of the cost). For comparison, the same districts and streets estimated one
series at a time in a Python loop. A 365-day series shows how the cost grows with length
(the infectivity is a T x T product, so quadratic in days).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from fangkong.analytics.rt import rt_cori_many  # noqa: E402

SI_MEAN, SI_SD, WINDOW = 4.7, 2.9, 7  # a COVID-19-like serial interval
LEVELS = [("district", 16), ("street", 200), ("grid", 3000)]


def synthetic(n: int, days: int, seed: int) -> np.ndarray:
    """Counts that grow, peak between day 20 and 40 and decline, scaled down for smaller units."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    peak = rng.uniform(20, 40, size=(n, 1))
    height = rng.lognormal(np.log(4000 / n), 0.8, size=(n, 1))
    curve = height * np.exp(-(((t - peak) / rng.uniform(8, 15, size=(n, 1))) ** 2))
    return rng.poisson(curve)


def posterior_only(incidence: np.ndarray) -> np.ndarray:
    return rt_cori_many(incidence, si_mean=SI_MEAN, si_sd=SI_SD, window=WINDOW).mean


def all_outputs(incidence: np.ndarray) -> tuple[np.ndarray, ...]:
    est = rt_cori_many(incidence, si_mean=SI_MEAN, si_sd=SI_SD, window=WINDOW)
    return est.mean, est.lower, est.upper


def one_at_a_time(incidence: np.ndarray) -> None:
    for row in incidence:
        all_outputs(row[np.newaxis, :])


def median_ms(fn, arg, runs: int) -> float:
    fn(arg)  # warm-up: imports, BLAS threads, page faults
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"SI {SI_MEAN}/{SI_SD} days, window {WINDOW} days, median of {args.runs} runs\n"
    )
    print(
        "| series | days | estimates | posterior mean (ms) | mean + 95 % bounds (ms) "
        "| the same, one series at a time (ms) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for seed, (level, n) in enumerate(LEVELS):
        incidence = synthetic(n, args.days, seed)
        mean, lower, upper = all_outputs(incidence)
        assert np.all(np.isfinite(mean)) and np.all(lower <= mean) and np.all(mean <= upper)
        posterior = median_ms(posterior_only, incidence, args.runs)
        vectorised = median_ms(all_outputs, incidence, args.runs)
        looped = median_ms(one_at_a_time, incidence, args.runs) if n <= 200 else None
        print(
            f"| {n:,} {level}s | {args.days} | {mean.size:,} | {posterior:.2f} | "
            f"{vectorised:.2f} | {'-' if looped is None else f'{looped:.1f}'} |"
        )
    incidence = synthetic(3000, 365, 99)
    print(
        f"| 3,000 grids | 365 | {all_outputs(incidence)[0].size:,} | "
        f"{median_ms(posterior_only, incidence, args.runs):.1f} | "
        f"{median_ms(all_outputs, incidence, args.runs):.1f} | - |"
    )


if __name__ == "__main__":
    main()
