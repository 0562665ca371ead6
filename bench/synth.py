"""Benchmark of the synthetic city on PostgreSQL: load time and jurisdiction subtree counts.

    .venv/bin/python bench/synth.py [--population 1000000] [--runs 3] [--count-runs 7]

Drops and creates the database fk_bench_synth on 127.0.0.1:5432 (user postgres, trust
authentication) and migrates it. Each load run is `fangkong synth` on a freshly created and
migrated database (the migration is not timed), timed from the shell as an operator sees it,
with the seconds synth reports itself beside it. One more run replaces the loaded city with
--reset. Then Person.objects.filter(jpath__startswith=...).count() is timed over the whole
city and over districts, warm (one run first), the median of --count-runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = os.environ.get("FK_BENCH_DB", "fk_bench_synth")
# A migrated database to copy instead of migrating each fresh one (bench/smoke.py sets it).
TEMPLATE = os.environ.get("FK_BENCH_TEMPLATE", "")
URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
FANGKONG = str(ROOT / ".venv" / "bin" / "fangkong")
SEED = 2022


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql],
        check=True,
        capture_output=True,
    )


def fresh_database(env: dict) -> None:
    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    if TEMPLATE:
        psql(f"CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}")
        return
    psql(f"CREATE DATABASE {DATABASE}")
    subprocess.run([FANGKONG, "migrate", "-v0"], env=env, check=True)


def timed_synth(env: dict, population: int, *extra: str) -> tuple[float, float]:
    """(wall seconds of the command, seconds synth reports for itself)."""
    began = time.perf_counter()
    done = subprocess.run(
        [FANGKONG, "synth", "--population", str(population), "--seed", str(SEED), *extra],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - began
    return wall, float(re.search(r"in ([\d.]+) s", done.stdout).group(1))


def median_ms(fn, runs: int) -> float:
    fn()  # warm: the index pages in shared buffers, the plan cached
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="load runs on a fresh database")
    parser.add_argument("--count-runs", type=int, default=7)
    args = parser.parse_args()

    env = {
        **os.environ,
        "FANGKONG_DATABASE_URL": URL,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
    }
    loads = []
    for _ in range(args.runs):
        fresh_database(env)
        loads.append(timed_synth(env, args.population))
    reset = timed_synth(env, args.population, "--reset")

    os.environ.update(env)
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    import django

    django.setup()
    from django.db import connection
    from django.db.models import Count

    from fangkong.geo.models import Jurisdiction, Level
    from fangkong.people.models import Person

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        server = cursor.fetchone()[0].split(" on ")[0]
    city = Jurisdiction.objects.get(level=Level.CITY)
    districts = list(Jurisdiction.objects.filter(level=Level.DISTRICT).order_by("path"))
    largest = max(districts, key=lambda d: d.population)
    grid = Jurisdiction.objects.filter(level=Level.GRID).order_by("path").first()

    def count(node):
        return lambda: Person.objects.filter(jpath__startswith=node.path).count()

    def plan(node) -> str:
        sql, params = (
            Person.objects.filter(jpath__startswith=node.path).values("id").query.sql_with_params()
        )
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM ({sql}) AS q", params)
            lines = [row[0] for row in cursor.fetchall()]
        scan = next(
            (line.strip().split("  (")[0].lstrip("-> ") for line in lines if "Scan" in line), "?"
        )
        fetches = next((line.strip() for line in lines if "Heap Fetches" in line), "")
        return f"{scan}; {fetches}" if fetches else scan

    wall = [w for w, _ in loads]
    inner = [s for _, s in loads]
    print(
        f"PostgreSQL: {server}; python {platform.python_version()}; {os.cpu_count()} cores; "
        f"population {args.population:,}, seed {SEED}\n"
    )
    print("| step | runs | median (s) | all runs (s) |")
    print("| --- | ---: | ---: | --- |")
    print(
        f"| `fangkong synth` on an empty database, wall clock | {len(wall)} | "
        f"{statistics.median(wall):.1f} | {', '.join(f'{w:.1f}' for w in wall)} |"
    )
    print(
        f"| the same, as synth reports it (no interpreter start) | {len(inner)} | "
        f"{statistics.median(inner):.1f} | {', '.join(f'{s:.1f}' for s in inner)} |"
    )
    print(
        f"| `fangkong synth --reset` over a loaded city, wall clock | 1 | {reset[0]:.1f} | "
        f"{reset[0]:.1f} (synth: {reset[1]:.1f}) |"
    )
    print()
    print(
        f"| subtree count (`Person.objects.filter(jpath__startswith=…).count()`) | people "
        f"| median of {args.count_runs}, warm (ms) | plan |"
    )
    print("| --- | ---: | ---: | --- |")
    for label, node in [
        (f"whole city ({city.name})", city),
        (f"largest district ({largest.name})", largest),
        (f"first district ({districts[0].name})", districts[0]),
        (f"one grid ({grid.name})", grid),
    ]:
        ms = median_ms(count(node), args.count_runs)
        print(f"| {label} | {count(node)():,} | {ms:.1f} | {plan(node)} |")
    sizes = list(
        Jurisdiction.objects.filter(level=Level.GRID)
        .annotate(h=Count("households"))
        .values_list("h", flat=True)
    )
    print(
        f"\n{len(districts)} districts, {len(sizes)} grids of {min(sizes)}-{max(sizes)} households."
    )


if __name__ == "__main__":
    main()
