"""Benchmark: the readiness page's computation and the workforce import of resumption.

    .venv/bin/python bench/readiness.py [--population 200000] [--workers 20000] [--runs 5]

On PostgreSQL (database `fangkong_readiness_bench`, built with `fangkong synth` when it does not
hold the population): a few reserves per district (sampling sites, a lab, an isolation site, a
cabin hospital, a warehouse with a week of issues), then times

- `readiness(node=city)` and `readiness(node=first district)`: every line (testing with the
  Dorfman budget at the last rounds' prevalence, rooms, beds, supplies' cover) and the gaps;
- `workers_import` of `--workers` registry people into one enterprise, 1 % of them from a
  high-risk area (each gets its control order through control's service), then the same file
  again (nothing changes).

Prints the median of the runs (and each run) in milliseconds, with the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("FK_BENCH_DB", "fangkong_readiness_bench")
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup(population: int) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tc", f"CREATE DATABASE {DB}"],
        capture_output=True,
    )
    os.environ.update(
        {"FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from fangkong.people.models import Person

    call_command("migrate", verbosity=0)
    if Person.objects.count() < population:
        log(f"synth {population:,} people")
        started = time.perf_counter()
        call_command("synth", population=population, seed=2022, stdout=io.StringIO())
        log(f"  {time.perf_counter() - started:.0f} s")


def reserves() -> None:
    from fangkong.care import services as care
    from fangkong.care.models import Facility
    from fangkong.control.models import Site as IsolationSite
    from fangkong.control.services import site_create
    from fangkong.geo.models import Jurisdiction, Level
    from fangkong.supplies import services as supplies
    from fangkong.supplies.models import Item, Warehouse
    from fangkong.testing.models import Lab, Site

    if Warehouse.objects.filter(code__startswith="RB-").exists():
        return
    supplies.supply_items_ensure()
    mask = Item.objects.order_by("code").first()
    today = dt.date.today()
    for d in Jurisdiction.objects.filter(level=Level.DISTRICT).order_by("path"):
        grid = Jurisdiction.objects.filter(level=Level.GRID, path__startswith=d.path).first()
        for i in range(3):
            Site.objects.create(
                code=f"RB-{d.code}-{i}",
                name=f"采样点{i}",
                jurisdiction=grid,
                jpath=grid.path,
                desks=4,
                samplers=8,
            )
        Lab.objects.create(
            code=f"RB-{d.code}",
            name="检测机构",
            jurisdiction=d,
            jpath=d.path,
            daily_capacity=20_000,
        )
        if not IsolationSite.objects.filter(code=f"RB-{d.code}").exists():
            site_create(
                actor=None,
                code=f"RB-{d.code}",
                name="隔离点",
                jurisdiction=d,
                floors=4,
                rooms_per_floor=20,
            )
        if not Facility.objects.filter(code=f"RB-{d.code}").exists():
            care.facility_create(
                actor=None,
                code=f"RB-{d.code}",
                name="方舱",
                kind="fangcang",
                jurisdiction=d,
                fangcang_beds=200,
            )
        store = Warehouse.objects.create(
            code=f"RB-{d.code}", name="仓库", kind="district", jurisdiction=d, jpath=d.path
        )
        supplies.stock_receive(actor=None, warehouse=store, item=mask, quantity=50_000, day=today)
        for back in range(1, 8):
            supplies.stock_issue(
                actor=None,
                warehouse=store,
                item=mask,
                quantity=3_000,
                day=today - dt.timedelta(days=back),
            )


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=3)
    args = parser.parse_args()
    setup(args.population)
    reserves()
    from django.db import connection

    from fangkong.geo.models import Jurisdiction, Level
    from fangkong.people.models import Person
    from fangkong.resumption import readiness, services
    from fangkong.resumption.models import Application, Organisation, Worker
    from fangkong.supplies.models import Enterprise

    city = Jurisdiction.objects.get(level=Level.CITY)
    district = Jurisdiction.objects.filter(level=Level.DISTRICT).order_by("path").first()
    results = {}
    state = readiness.readiness(actor=None, node=city)
    log(f"city: {len(state['lines'])} lines, {len(state['gaps'])} gaps")
    results["readiness(city)"] = timed(
        lambda: readiness.readiness(actor=None, node=city), args.runs
    )
    results["readiness(district)"] = timed(
        lambda: readiness.readiness(actor=None, node=district), args.runs
    )

    # The workforce: one enterprise, 1 % of the file from a high-risk district.
    far = Jurisdiction.objects.filter(level=Level.DISTRICT).order_by("-path").first()
    from fangkong.command.models import RiskArea

    if not RiskArea.objects.filter(jpath=far.path, ended_on__isnull=True).exists():
        RiskArea.objects.create(
            name=far.name,
            level="high",
            jpath=far.path,
            jurisdiction=far,
            since=dt.date.today(),
            level_since=dt.date.today(),
        )
    people = list(
        Person.objects.filter(jpath__startswith=district.path)
        .order_by("pk")
        .values_list("document_number", "name")[: args.workers]
    )
    rows = ["id_number,name,origin,arrival_date,kind"]
    for i, (number, name) in enumerate(people):
        origin = far.code if i % 100 == 0 else "江苏省苏州市姑苏区"
        rows.append(f"{number},{name},{origin},{dt.date.today().isoformat()},员工")
    body = ("\n".join(rows) + "\n").encode()
    load = []
    first, again = [], []
    for name, times in results.items():
        print(
            f"{name}: median {statistics.median(times):,.0f} ms "
            f"(runs {', '.join(f'{t:,.0f}' for t in times)}), load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    results = {}
    for run in range(args.import_runs):
        Worker.objects.all().delete()
        Application.objects.all().delete()
        Organisation.objects.all().delete()
        from fangkong.control.models import ControlOrder

        ControlOrder.objects.filter(source="基准企业").delete()
        enterprise, _ = Enterprise.objects.get_or_create(
            code="RB-ENT",
            defaults={"name": "基准企业", "jurisdiction": district, "jpath": district.path},
        )
        org = services.organisation_register(actor=None, kind="enterprise", enterprise=enterprise)
        started = time.perf_counter()
        job = services.workers_import(
            actor=None, organisation=org, source=io.BytesIO(body), filename="w.csv"
        )
        first.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        repeat = services.workers_import(
            actor=None, organisation=org, source=io.BytesIO(body), filename="w.csv"
        )
        again.append((time.perf_counter() - started) * 1000)
        assert repeat.unchanged == job.created and repeat.created == 0, (job, repeat)
        load.append(os.getloadavg()[0])
        log(
            f"  run {run + 1}: {job.created:,} registered, {Worker.objects.filter(order__isnull=False).count()} under control"
        )
    results[f"workers_import({len(people):,} rows, 1 % from a risk area)"] = first
    results["workers_import, the same file again"] = again
    print(
        f"database: {connection.vendor}, population {Person.objects.count():,}, "
        f"load average {os.getloadavg()[0]:.1f} (runs: {', '.join(f'{x:.1f}' for x in load)})"
    )
    for name, times in results.items():
        print(
            f"{name}: median {statistics.median(times):,.0f} ms "
            f"(runs {', '.join(f'{t:,.0f}' for t in times)})"
        )


if __name__ == "__main__":
    main()
