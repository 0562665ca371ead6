"""Deterministic synthetic telecom presence and venue-code scans for registry people: the demo's
configured co-location data and the case → leads benchmark's. `person_id` is the Person key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SIDE = 120  # 800 m cells: a 96 km square
DAYS = 14
US = 1_000_000


def _cells_near(rng, base, n, spread):
    x = np.clip(base // SIDE + rng.integers(-spread, spread + 1, n), 0, SIDE - 1)
    y = np.clip(base % SIDE + rng.integers(-spread, spread + 1, n), 0, SIDE - 1)
    return x * SIDE + y


def write_data(
    out: Path,
    person_ids: np.ndarray,
    grid_ids: np.ndarray,
    first_day: dt.date,
    *,
    days: int = DAYS,
    seed: int = 2022,
) -> tuple[int, int]:
    """Presence: nights at home (a cell near the grid's), days at work (60 %), an errand on most
    evenings; scans: one or two venue-code scans a day among 5,000 venues near home."""
    rng = np.random.default_rng(seed)
    n = len(person_ids)
    grids, grid_index = np.unique(grid_ids, return_inverse=True)
    grid_cell = rng.integers(0, SIDE * SIDE, len(grids))
    home = _cells_near(rng, grid_cell[grid_index], n, 1)
    worker = rng.random(n) < 0.6
    centres = np.array([60 * SIDE + 60, 35 * SIDE + 80, 85 * SIDE + 40])
    work = _cells_near(rng, centres[rng.choice(3, n, p=[0.6, 0.2, 0.2])], n, 12)
    base = int(dt.datetime.combine(first_day, dt.time(0)).replace(tzinfo=dt.UTC).timestamp()) * US
    (out / "presence").mkdir(parents=True, exist_ok=True)
    (out / "scans").mkdir(parents=True, exist_ok=True)
    venue_home = rng.integers(0, 5000, n)
    rows = scans = 0
    for day in range(days):
        d0 = base + day * 86400 * US
        j = lambda lo, hi: (rng.uniform(lo, hi, n) * 3600 * US).astype(np.int64)  # noqa: E731
        morning_end = d0 + j(6.5, 8.5)
        work_start, work_end = morning_end + j(0.5, 1.2), d0 + j(16.5, 18.5)
        errand = rng.random(n) < 0.7
        errand_start = np.where(worker, work_end, d0 + j(9, 16)) + j(0.2, 1)
        errand_end = errand_start + j(0.4, 1.5)
        evening = np.maximum(np.where(errand, errand_end, work_end), d0 + j(18, 20))
        parts = [
            (person_ids, home, np.full(n, d0), morning_end),
            (person_ids[worker], work[worker], work_start[worker], work_end[worker]),
            (
                person_ids[errand],
                _cells_near(rng, home[errand], int(errand.sum()), 3),
                errand_start[errand],
                errand_end[errand],
            ),
            (person_ids, home, evening, np.full(n, d0 + 86400 * US - US)),
        ]
        table = pa.table(
            {
                "person_id": pa.array(np.concatenate([p[0] for p in parts]), pa.int64()),
                "cell_id": pa.array(
                    np.concatenate([p[1] for p in parts]).astype(np.int64), pa.int64()
                ),
                "start": pa.array(np.concatenate([p[2] for p in parts]), pa.timestamp("us")),
                "end": pa.array(np.concatenate([p[3] for p in parts]), pa.timestamp("us")),
            }
        )
        pq.write_table(table, out / "presence" / f"day-{day:02d}.parquet")
        rows += table.num_rows
        k = rng.random(n) < 0.8
        venue = (venue_home[k] + rng.integers(0, 40, int(k.sum()))) % 5000
        at = d0 + j(9, 21)[k]
        scan_table = pa.table(
            {
                "person_id": pa.array(person_ids[k], pa.int64()),
                "venue_id": pa.array([f"V{v:05d}" for v in venue]),
                "scanned_at": pa.array(at, pa.timestamp("us")),
            }
        )
        pq.write_table(scan_table, out / "scans" / f"day-{day:02d}.parquet")
        scans += scan_table.num_rows
    return rows, scans
