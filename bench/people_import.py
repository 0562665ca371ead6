"""Benchmark of the population import and export on PostgreSQL.

    .venv/bin/python bench/people_import.py [--rows 100000] [--runs 3]

Drops and creates the database fk_bench_import on 127.0.0.1:5432 (user postgres, trust
authentication), migrates it and loads a small synthetic city for its grids. Then, --runs times:
import a CSV of --rows new residents spread over every grid (timed), import the same file again
(timed; everything unchanged), export the registry unmasked as CSV (timed), and delete the
imported residents. Prints the medians.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = os.environ.get("FK_BENCH_DB", "fk_bench_import")
URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
FANGKONG = str(ROOT / ".venv" / "bin" / "fangkong")


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql],
        check=True,
        capture_output=True,
    )


def write_file(path: Path, rows: int, grids: list[str]) -> None:
    from fangkong.people import idnumber

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["id_number", "name", "birth_date", "phone", "grid_code", "address", "tags"]
        )
        for i in range(rows):
            birth = dt.date(1930, 1, 1) + dt.timedelta(days=i % 30000)
            # Region 110101 keeps these numbers apart from the synthetic city's (Nanjing codes).
            number = idnumber.make("110101", birth, (i // 30000) % 1000)
            writer.writerow(
                [
                    number,
                    f"居民{i}",
                    birth.isoformat(),
                    f"139{i:08d}",
                    grids[i % len(grids)],
                    f"长江路{i}号",
                    "慢性病" if i % 7 == 0 else "",
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    os.environ.update(FANGKONG_DATABASE_URL=URL, DJANGO_SETTINGS_MODULE="config.settings.dev")
    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    # bench/smoke.py hands a migrated database to copy: migrating costs more than its run.
    template = os.environ.get("FK_BENCH_TEMPLATE", "")
    psql(f"CREATE DATABASE {DATABASE}" + (f" TEMPLATE {template}" if template else ""))
    subprocess.run([FANGKONG, "migrate", "-v0"], check=True)
    subprocess.run(
        [FANGKONG, "synth", "--population", "20000", "--seed", "1"], check=True, capture_output=True
    )

    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    import django

    django.setup()
    from fangkong.geo.models import Jurisdiction, Level
    from fangkong.people.models import Person
    from fangkong.people.services import people_export, people_import

    grids = list(Jurisdiction.objects.filter(level=Level.GRID).values_list("code", flat=True))
    if args.rows > 30000 * 1000:
        raise SystemExit("at most 30 million rows: the ID numbers would repeat")
    timings: dict[str, list[float]] = {
        "first import": [],
        "re-import (unchanged)": [],
        "export (unmasked CSV)": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "people.csv"
        write_file(path, args.rows, grids)
        for _ in range(args.runs):
            began = time.perf_counter()
            job = people_import(actor=None, source=str(path), filename=path.name)
            timings["first import"].append(time.perf_counter() - began)
            assert job.created == args.rows, (job.created, job.rejected, job.errors[:3])
            began = time.perf_counter()
            job = people_import(actor=None, source=str(path), filename=path.name)
            timings["re-import (unchanged)"].append(time.perf_counter() - began)
            assert job.unchanged == args.rows
            began = time.perf_counter()
            people_export(actor=None, out=io.StringIO(), unmasked=True)
            timings["export (unmasked CSV)"].append(time.perf_counter() - began)
            Person.objects.filter(document_number__startswith="110101").delete()

    print(f"| step ({args.rows:,} rows, PostgreSQL) | median (s) | runs (s) | rows/s |")
    print("| --- | ---: | --- | ---: |")
    for step, values in timings.items():
        median = statistics.median(values)
        runs = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {step} | {median:.1f} | {runs} | {args.rows / median:,.0f} |")


if __name__ == "__main__":
    main()
