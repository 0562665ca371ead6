"""Every benchmark under bench/ in smoke mode: tiny sizes, one run, seconds each.

    .venv/bin/python bench/smoke.py [--only NAME[,NAME…]] [--timeout 240] [--keep-logs DIR]

A benchmark is code that runs rarely, on big data, by hand: a schema change (a new NOT NULL
column, a renamed field) breaks its set-based builders silently until someone needs a figure.
This runs each one with its smallest sizes so CI catches that (`.ci/run`, "benchmarks, smoke
mode"). The figures it prints mean nothing and are not kept.

Each PostgreSQL bench gets a fresh database of its own, `fangkong_smoke_<pid>_<bench>`, dropped
before and after, so a smoke run never touches the databases the real runs keep their 10-million
cities in, nor another smoke run's. The name reaches the bench by `--db` where it has that option
and by the environment variable FK_BENCH_DB otherwise; a bench that honours neither is
refused (it would write into its real database). Every file bench/*.py must have an entry here,
so a new bench cannot be left out.

Fails (exit 1) when any bench exits non-zero, times out or is missing its entry; its output is in
the log folder (var/ci-artifacts/bench-smoke/ by default) and its tail is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# Not benchmarks: this runner, and helpers a bench imports.
NOT_BENCHES = {"smoke.py", "round_files.py"}  # modules the benches share


@dataclass
class Bench:
    name: str
    args: str
    # "env": reads FK_BENCH_DB; "--db"/"--database": takes the name by that option;
    # None: uses no PostgreSQL database.
    database: str | None = "env"
    # Reported when the bench is not on this branch yet (another engineer is adding it).
    optional: bool = False
    # Most benches refuse a database name outside their own prefix.
    prefix: str = "fangkong_"
    env: dict[str, str] = field(default_factory=dict)


# The smallest sizes at which each bench still does every step it does at full size (a city
# with more than one district, every builder, the timed calls, the served load test for 2 s).
BENCHES = [
    Bench("synth", "--population 2000 --runs 1 --count-runs 1"),
    Bench("people_import", "--rows 300 --runs 1"),
    # New contacts are every 500th resident without an order: 3,000 people give 6.
    Bench("control", "--population 3000 --orders 200 --batch 5 --runs 1"),
    Bench("figures_agree", "--population 3000 --orders 200 --runs 1"),
    Bench("readiness", "--population 3000 --workers 100 --runs 1 --import-runs 1"),
    # Fewer issues a line than the opening stock: a balance may not go below zero.
    Bench(
        "supplies", "--warehouses 20 --items 5 --rows 1000 --runs 1 --write-seconds 1 --threads 2"
    ),
    Bench("case_leads", "--population 3000 --runs 1", database="--db", prefix="fkt_"),
    Bench("voluntary", "--population 3000 --runs 1", database="--db", prefix="fangkong_voluntary_"),
    # Spark's JVM costs half a minute at any size; the suite runs the same SQL on Spark already.
    Bench(
        "colocate",
        "--rows 20000 --small-rows 20000 --people 2000 --index-persons 20 --runs 1 "
        "--skip-spark --skip-pandas",
        database=None,
    ),  # fmt: skip
    Bench("rt", "--days 30 --runs 1", database=None),
    Bench("drills", "--populations 300 --runs 1", database=None),
    Bench("drills_overhead", "--runs 1 --requests 20"),
    Bench("workday", "--people 200 --alerts 20 --orders 10 --runs 1", database=None),
    # Benches other engineers are changing in this same round: the size flags they were asked
    # to keep, and the database by FK_BENCH_DB unless they take an option for it.
    # Its places go to the first 50 grids (OFFSET i % 50): a smaller city leaves gaps in the place
    # ids its earlier scans count on. 60,000 people make about 58 grids.
    Bench(
        "venue_scans",
        "--rate 20 --seconds 2 --runs 1 --workers 1 --threads 4 "
        "--population 60000 --places 200 --preload 2000",
        database="--db",
        prefix="fangkong_places_",
    ),  # fmt: skip
    # It builds its own city whole (under a scratch name): --rebuild replaces the empty copy.
    Bench("dashboard", "--population 20000 --runs 1 --starts 1 --rebuild", database="--database"),
    # It times 3 tries of 2,000 positive pools of ten, each on other negative tubes: 60,070 people.
    Bench(
        "mass_testing",
        "--population 61000 --runs 1 --rate 20 --seconds 2 --workers 1 --threads 4 --connections 2",
        prefix="fkp_bench_",
    ),  # fmt: skip
    Bench("vaccination", "--population 2000 --runs 1 --reads 2", prefix="fangkong_vaccination_"),
    Bench("screening", "--population 2000 --runs 1"),
    Bench(
        "lists", "--population 2000 --seconds 2 --runs 1", database="--db", prefix="fangkong_lists"
    ),
    Bench(
        "import_stall",
        "round --population 2000 --runs 1",
        prefix="fangkong_imports_",
    ),  # fmt: skip
]


def psql(statement: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qXc", statement, "postgres"],
        check=True,
        capture_output=True,
    )


def drop(db: str) -> None:
    psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def migrated_template(name: str) -> None:
    """One migrated database each bench's own is copied from: migrating costs more than most
    benches at smoke size (a bench that drops and recreates its database migrates its own)."""
    drop(name)
    psql(f"CREATE DATABASE {name}")
    env = {
        **os.environ,
        "FANGKONG_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    env.pop("FANGKONG_MIGRATE_DATABASE_URL", None)
    subprocess.run([str(ROOT / ".venv" / "bin" / "fangkong"), "migrate", "-v", "0"], env=env,
                   check=True, cwd=ROOT)  # fmt: skip


def takes_database(bench: Bench, source: str) -> bool:
    if bench.database == "env":
        return "FK_BENCH_DB" in source
    return bool(re.search(rf"""add_argument\(\s*["']{bench.database}["']""", source))


def run(bench: Bench, timeout: int, logs: Path, template: str) -> tuple[str, float, str]:
    """(outcome, seconds, detail): outcome is ok, FAIL or skip."""
    path = BENCH / f"{bench.name}.py"
    if not path.exists():
        return ("skip" if bench.optional else "FAIL"), 0.0, "no such file"
    source = path.read_text()
    args = bench.args.split()
    db = f"{bench.prefix}smoke_{os.getpid()}_{bench.name}"
    env = {**os.environ, **bench.env}
    for name in ("FANGKONG_DATABASE_URL", "FANGKONG_MIGRATE_DATABASE_URL", "FANGKONG_REDIS_URL"):
        env.pop(name, None)  # each bench names its own
    if bench.database:
        if not takes_database(bench, source):
            how = "FK_BENCH_DB" if bench.database == "env" else bench.database
            return "FAIL", 0.0, f"the bench does not take its database name ({how})"
        if bench.database != "env":
            args += [bench.database, db]
        env["FK_BENCH_DB"] = db
        env["FK_BENCH_TEMPLATE"] = template
        drop(db)
        psql(f"CREATE DATABASE {db} TEMPLATE {template}")
    log = logs / f"{bench.name}.log"
    start = time.monotonic()
    try:
        with log.open("w") as out:
            # Its own process group: a bench's `fangkong serve` and client go with it on timeout.
            proc = subprocess.Popen(
                [PYTHON, str(path), *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                code = proc.wait(timeout=timeout)
                outcome = "ok" if code == 0 else "FAIL"
                detail = "" if code == 0 else f"exit {code}"
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                outcome, detail = "FAIL", f"timed out after {timeout} s"
    finally:
        if bench.database:
            try:
                drop(db)
            except subprocess.CalledProcessError as exc:
                print(f"   could not drop {db}: {exc.stderr}", flush=True)
    return outcome, time.monotonic() - start, detail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--timeout", type=int, default=240, help="seconds per bench")
    parser.add_argument("--keep-logs", default=str(ROOT / "var" / "ci-artifacts" / "bench-smoke"))
    args = parser.parse_args()

    known = {b.name for b in BENCHES}
    files = {p.stem for p in BENCH.glob("*.py") if p.name not in NOT_BENCHES}
    only = {n for n in args.only.split(",") if n}
    if only - known:
        parser.error(f"unknown bench: {', '.join(sorted(only - known))}")
    logs = Path(args.keep_logs)
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)

    failed, passed, skipped = [], 0, 0
    for name in sorted(files - known):
        print(f"FAIL  {name:14s}   bench/{name}.py has no entry in bench/smoke.py", flush=True)
        failed.append(name)
    template = f"fangkong_smoke_{os.getpid()}_template"
    start = time.monotonic()
    try:
        migrated_template(template)
        print(
            f"      {'template':14s} {time.monotonic() - start:6.1f} s  migrated once", flush=True
        )
        for bench in BENCHES:
            if only and bench.name not in only:
                continue
            outcome, seconds, detail = run(bench, args.timeout, logs, template)
            print(f"{outcome:5s} {bench.name:14s} {seconds:6.1f} s  {detail}".rstrip(), flush=True)
            if outcome == "ok":
                passed += 1
            elif outcome == "skip":
                skipped += 1
            else:
                failed.append(bench.name)
                log = logs / f"{bench.name}.log"
                if log.exists():
                    tail = log.read_text(errors="replace").splitlines()[-25:]
                    print("\n".join("      | " + line for line in tail), flush=True)
    finally:
        drop(template)
    print(f"smoke: {passed} passed, {len(failed)} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
