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

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "case_leads"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


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
    from fangkong.tracing.synthdata import DAYS, write_data

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
    rows, scans = write_data(OUT, ids, grids, first_day, days=DAYS)
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
