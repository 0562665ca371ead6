"""Benchmark of drills on SQLite: how long a drill's sandbox takes to prepare, and its score card.

    .venv/bin/python bench/drills.py [--populations 1000,10000,50000] [--runs 3]

In its own folder (var/bench-drills: a live database `live.sqlite3` with a small tree of one city,
two districts and 40 grids, and the sandboxes): migrates the live database once, makes the
migrated sandbox template once (timed apart: it is paid once per set of migrations), then times,
through the real services, for each population:

1. `drill_create`: copy the template, the tree and the accounts, the isolation site, the
   synthetic population (people.synth), the scenario;
2. a drill played for 20 simulated hours (6 cases released by `drill_tick`) and `score.compute`.
Prints one table row per measurement: median and every run, in milliseconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench-drills"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--populations", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    os.environ["FANGKONG_DATABASE_URL"] = f"sqlite:///{WORK / 'live.sqlite3'}"
    os.environ["FANGKONG_DRILL_DIR"] = str(WORK / "sandboxes")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command

    from fangkong.accounts.tests.factories import UserFactory
    from fangkong.drills import routing, sandbox, score, services
    from fangkong.drills.models import Drill
    from fangkong.geo.models import Jurisdiction

    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    log(f"live database migrated in {time.perf_counter() - began:.1f} s")
    province = Jurisdiction.objects.create(
        code="320000", level="province", name="江苏省", path="/320000/", depth=1
    )
    city = Jurisdiction.objects.create(
        code="320100", level="city", name="南京市", parent=province, path="/320000/320100/", depth=2
    )
    for d in range(2):
        district = Jurisdiction.objects.create(
            code=f"32010{d + 1}",
            level="district",
            name=f"区{d}",
            parent=city,
            path=f"{city.path}32010{d + 1}/",
            depth=3,
        )
        for g in range(20):
            code = f"32010{d + 1}G{g:02d}"
            Jurisdiction.objects.create(
                code=code,
                level="grid",
                name=code,
                parent=district,
                path=f"{district.path}{code}/",
                depth=4,
            )
    commander = UserFactory(username="chief", role="commander", jurisdiction=city)
    began = time.perf_counter()
    sandbox.drop(sandbox.create(sandbox.new_name()))
    template_ms = (time.perf_counter() - began) * 1000
    rows = [("sandbox template (migrate once)", [template_ms])]
    for population in [int(p) for p in args.populations.split(",")]:
        create, card = [], []
        for run in range(args.runs):
            began = time.perf_counter()
            drill = services.drill_create(
                actor=commander,
                name=f"bench {population} {run}",
                jurisdiction=city,
                population=population,
                seed=run + 1,
                cases=6,
            )
            create.append((time.perf_counter() - began) * 1000)
            drill = services.drill_start(actor=commander, drill=drill)
            with routing.live():
                Drill.objects.filter(pk=drill.pk).update(
                    started_at=drill.started_at - dt.timedelta(hours=20) / drill.speed
                )
                drill.refresh_from_db()
            services.drill_tick(drill=drill)
            began = time.perf_counter()
            result = score.compute(drill)
            card.append((time.perf_counter() - began) * 1000)
            assert (
                sum(i["cases"] for i in result["intervals"] if i["key"] == "visit_to_report") == 6
            )
            sandbox.drop(drill.sandbox)
            log(f"{population:,}: create {create[-1]:.0f} ms, score card {card[-1]:.0f} ms")
        rows.append((f"`drill_create`, {population:,} people", create))
        rows.append((f"`score.compute`, {population:,} people, 6 cases", card))
    print("| measurement | median (ms) | all runs (ms) |")
    print("| --- | ---: | --- |")
    for name, values in rows:
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"| {name} | {statistics.median(values):,.0f} | {runs} |")
    print(
        f"\nload average {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} / {os.getloadavg()[2]:.1f}"
    )


if __name__ == "__main__":
    main()
