"""Benchmark of the one "under control" definition (issue 16 point 3) on PostgreSQL.

    .venv/bin/python bench/figures_agree.py [--population 2000000] [--orders 40000] [--runs 7]

The control board and the daily report/dashboard now count people under control by one
definition (control.selectors.under_control_q, over the steps in force). This times, warm and in
process, on the city that bench/control.py builds (its own builders, pointed at this bench's own
database fangkong_figures16_bench):

1. ``control_board`` for the city (its missed-checks/due-tests scan + the shared GROUP BY);
2. ``command.figures.control_figures_days`` for the city, today and yesterday (the dashboard's
   call), and for one district;

and checks, once, that the board and the figures give the same numbers for the city and every
district.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import control as base  # noqa: E402  (bench/control.py: the city and control builders)

# The only database this bench touches (bench/smoke.py names its own).
base.use_database(os.environ.get("FK_BENCH_DB", "fangkong_figures16_bench"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=2_000_000)
    parser.add_argument("--orders", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    base.prepare()
    base.build_city(args.population)
    base.build_control(args.orders)
    base.django_setup()

    import datetime as dt

    from django.utils import timezone

    from fangkong.command import figures
    from fangkong.control import selectors
    from fangkong.control.models import Measure
    from fangkong.geo.models import Jurisdiction

    city = Jurisdiction.objects.get(level="city")
    district = Jurisdiction.objects.filter(parent=city).order_by("path").first()
    today = timezone.localdate()
    days = [today - dt.timedelta(days=1), today]
    board = selectors.control_board(actor=None, node=city)
    mine = figures.control_figures_days(city.path, days)[today]
    assert board["total"]["total"] == mine["control_total"], (board["total"], mine)
    for row in board["children"]:
        theirs = figures.control_figures_days(row["node"].path, [today])[today]
        assert {m: row[m] for m in Measure.values} == {
            m: theirs[f"control_{m}"] for m in Measure.values
        }, row["node"].name
    print(f"\nunder control today: {mine['control_total']:,} (board and figures agree)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| measurement | median | runs (ms) |")
    print("| --- | ---: | --- |")
    for label, fn in [
        ("`control_board`, city", lambda: selectors.control_board(actor=None, node=city)),
        (
            "`control_figures_days`, city, yesterday and today",
            lambda: figures.control_figures_days(city.path, days),
        ),
        (
            "`control_figures_days`, one district, today",
            lambda: figures.control_figures_days(district.path, [today]),
        ),
    ]:
        fn()
        times = base.timed(fn, args.runs)
        runs = ", ".join(f"{t * 1000:.0f}" for t in times)
        print(f"| {label} | {statistics.median(times) * 1000:,.0f} ms | {runs} |")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
