"""Benchmark: a newly confirmed case → its co-location contacts as leads on the grid workers' lists.

    .venv/bin/python bench/case_leads.py [--population 200000] [--runs 5] [--db fkt_bench]

On PostgreSQL (database `fkt_bench`, rebuilt with `fangkong synth` when it does not hold the
population), writes deterministic telecom presence and venue-scan data for the whole registry
(`person_id` = people.Person primary key, as the live feed delivers it) to bench/out/case_leads/,
points FANGKONG_COLOCATION_DATA at it, and times the live path in process: `case_open` of a
confirmed case commits, its on-commit hook runs the co-location jobs (in-process, no Redis) over
both sources with the case's derived window, and the leads are created, merged and pushed to
their grids. Each run is a different index person; the time is from the call to the leads being
on the worklists (committed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "case_leads"
SIDE = 120  # 800 m cells: a 96 km square
DAYS = 14
US = 1_000_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cells_near(rng, base, n, spread):
    x = np.clip(base // SIDE + rng.integers(-spread, spread + 1, n), 0, SIDE - 1)
    y = np.clip(base % SIDE + rng.integers(-spread, spread + 1, n), 0, SIDE - 1)
    return x * SIDE + y


def write_data(person_ids: np.ndarray, grid_ids: np.ndarray, first_day: dt.date, seed: int = 2022):
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
    (OUT / "presence").mkdir(parents=True, exist_ok=True)
    (OUT / "scans").mkdir(parents=True, exist_ok=True)
    venue_home = rng.integers(0, 5000, n)
    rows = scans = 0
    for day in range(DAYS):
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
        pq.write_table(table, OUT / "presence" / f"day-{day:02d}.parquet")
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
        pq.write_table(scan_table, OUT / "scans" / f"day-{day:02d}.parquet")
        scans += scan_table.num_rows
    return rows, scans


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default="fkt_bench")
    args = parser.parse_args()
    assert args.db.startswith("fkt_"), "this bench only touches fkt_* databases"
    url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    env = {
        **os.environ,
        "FANGKONG_DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
    }
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tc", f"CREATE DATABASE {args.db}"],
        capture_output=True,
    )
    os.environ.update(env)
    os.environ["FANGKONG_COLOCATION_DATA"] = str(OUT)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from fangkong.people.models import Person
    from fangkong.tracing import services
    from fangkong.tracing.models import Case, ColocationRun, Contact, LeadState

    call_command("migrate", interactive=False, verbosity=0)
    if Person.objects.count() != args.population:
        log(f"building a synthetic city of {args.population:,} people ...")
        call_command("synth", population=args.population, seed=2022, reset=True, stdout=sys.stderr)
    people = list(Person.objects.order_by("id").values_list("id", "grid_id"))
    ids = np.array([p[0] for p in people], dtype=np.int64)
    grids = np.array([p[1] for p in people], dtype=np.int64)
    today = timezone.localdate()
    first_day = today - dt.timedelta(days=DAYS - 1)
    began = time.perf_counter()
    rows, scans = write_data(ids, grids, first_day)
    log(
        f"{rows:,} presence rows and {scans:,} scans written in {time.perf_counter() - began:.1f} s"
    )
    ColocationRun.objects.all().delete()
    Contact.objects.all().delete()
    Case.objects.all().delete()
    rng = np.random.default_rng(7)
    times, found = [], []
    for run in range(args.runs):
        person = Person.objects.get(pk=int(ids[rng.integers(0, len(ids))]))
        started = time.perf_counter()
        case = services.case_open(
            actor=None,
            person=person,
            classification="confirmed",
            onset_date=today - dt.timedelta(days=2),
            isolated_at=timezone.now(),
        )
        elapsed = time.perf_counter() - started
        pushed = (
            Contact.objects.filter(links__source_case=case, state=LeadState.PUSHED)
            .distinct()
            .count()
        )
        runs = list(
            ColocationRun.objects.filter(case=case).values_list(
                "rule", "status", "rows", "leads_created", "leads_merged"
            )
        )
        times.append(elapsed)
        found.append(pushed)
        log(f"run {run + 1}: {elapsed:.2f} s, {pushed} leads pushed; {runs}")
    print(
        f"case → leads: median {statistics.median(times):.2f} s over {args.runs} runs "
        f"({', '.join(f'{t:.2f}' for t in times)}); leads per case median {statistics.median(found):.0f}; "
        f"{args.population:,} people, {rows:,} presence rows, {scans:,} scans"
    )


if __name__ == "__main__":
    main()
