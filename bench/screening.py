"""Benchmark of door-to-door screening on PostgreSQL: coverage of a campaign over a 10-million city.

    .venv/bin/python bench/screening.py [--population 10000000] [--runs 7]

In its own database (fangkong_screening_bench): builds the city with `fangkong synth --population N
--seed 2022` unless it already holds N people, then opens one campaign over the whole city through
`campaign_open` (every household in scope, the grid counters with their registered residents:
set-based, timed once), and marks the campaign about half done by SQL as if the visits had been
recorded (each grid 20–80 % of its households visited, their registered people seen; the grid
counters summed from the households; one district's grids overdue). Then it times, in process and
warm, through the real selectors, services and page:

1. `coverage` for the city (totals, its districts, per-level finished units, overdue grids), for
   one district and for one community: the figure the target is about (< 500 ms for the city);
2. the first page of the city's unreached households (`unreached_list`, 50 rows);
3. `visit_record` through the service (a grid worker's visit with three people, counters kept);
4. the page `/screening/campaigns/<pk>/` rendered for the commander.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import control as base  # noqa: E402  (bench/control.py: the city builder)

# The only database this bench touches (bench/smoke.py names its own).
base.use_database(os.environ.get("FK_BENCH_DB", "fangkong_screening_bench"))
DB, URL, ENV = base.DB, base.URL, base.ENV
log, sql, prepare = base.log, base.sql, base.prepare
SCREENING_TABLES = (
    "screening_finding, screening_visitperson, screening_visit, "
    "screening_assignment, screening_gridcoverage, screening_campaign"
)


def build_city(population: int) -> None:
    base.build_city(population, clear=SCREENING_TABLES)


def timed(fn, runs: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        out.append((time.perf_counter() - began) * 1000)
    return out


def half_done(campaign_id: int) -> None:
    """About half of the city visited: each grid's counters set to 20-80 % of its households and
    registered residents, as the visit writer would have left them (coverage reads only these)."""
    sql(
        """
        UPDATE screening_gridcoverage SET
          visited = households * (20 + (grid_id %% 7) * 10) / 100,
          people_seen = residents * (20 + (grid_id %% 7) * 10) / 100,
          last_visit_at = now()
        WHERE campaign_id = %s
        """,
        [campaign_id],
    )
    # The first district's grids had to finish last night.
    sql(
        """
        UPDATE screening_gridcoverage SET deadline = now() - interval '4 hours'
        WHERE campaign_id = %s AND jpath LIKE (
            SELECT path || '%%' FROM geo_jurisdiction WHERE level = 'district' ORDER BY path LIMIT 1)
        """,
        [campaign_id],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--counters-only",
        action="store_true",
        help="build the grid counters by SQL instead of campaign_open (coverage reads only them; "
        "no unreached list, no visit)",
    )
    args = parser.parse_args()
    prepare()
    build_city(args.population)
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime as dt

    from django.test import Client
    from django.utils import timezone

    from fangkong.accounts.models import User
    from fangkong.geo.models import Jurisdiction
    from fangkong.screening import selectors, services
    from fangkong.screening.models import Assignment, Campaign, GridCoverage

    city = Jurisdiction.objects.filter(level="city").order_by("path").first()
    district = Jurisdiction.objects.filter(level="district").order_by("path").first()
    community = (
        Jurisdiction.objects.filter(level="community", path__startswith=district.path)
        .order_by("path")
        .first()
    )
    commander, _ = User.objects.get_or_create(
        username="bench-commander", defaults={"role": "commander", "jurisdiction": city}
    )
    results = []
    sql(
        "TRUNCATE screening_finding, screening_visitperson, screening_visit, "
        "screening_assignment, screening_gridcoverage, screening_campaign CASCADE"
    )
    if args.counters_only:
        # The grid counters as campaign_open leaves them, built by SQL from the registry
        # (households and residents per grid), without the households' own rows.
        campaign = Campaign.objects.create(
            code="PCBENCH",
            name="bench",
            jurisdiction=city,
            jpath=city.path,
            questions=[],
            deadline=timezone.now() + dt.timedelta(days=2),
        )
        sql(
            """
            INSERT INTO screening_gridcoverage
              (campaign_id, grid_id, jpath, households, visited, residents, people_seen, findings)
            SELECT %s, h.grid_id, g.path, h.n, 0, COALESCE(p.n, 0), 0, 0
            FROM (SELECT grid_id, count(*) AS n FROM geo_household GROUP BY grid_id) h
            JOIN geo_jurisdiction g ON g.id = h.grid_id
            LEFT JOIN (SELECT grid_id, count(*) AS n FROM people_person GROUP BY grid_id) p
              ON p.grid_id = h.grid_id
            """,
            [campaign.pk],
        )
        households = sum(
            GridCoverage.objects.filter(campaign=campaign).values_list("households", flat=True)
        )
    else:
        began = time.perf_counter()
        campaign = services.campaign_open(
            actor=None,
            jurisdiction=city,
            name="bench",
            deadline=timezone.now() + dt.timedelta(days=2),
        )
        opened_ms = (time.perf_counter() - began) * 1000
        households = Assignment.objects.filter(campaign=campaign).count()
        log(f"campaign_open: {households:,} households in {opened_ms:,.0f} ms")
        results.append(
            ("`campaign_open` over the city (households in scope + grid counters)", [opened_ms])
        )
    grids = GridCoverage.objects.filter(campaign=campaign).count()
    sql("ANALYZE screening_assignment")
    sql("ANALYZE screening_gridcoverage")
    half_done(campaign.pk)
    sql("ANALYZE screening_gridcoverage")
    figures = selectors.coverage(actor=commander, campaign=campaign)
    log(f"city coverage: {figures['totals']}; overdue grids {len(figures['overdue'])}")
    results.append(
        (
            "`coverage`, the city",
            timed(lambda: selectors.coverage(actor=commander, campaign=campaign), args.runs),
        )
    )
    results.append(
        (
            "`coverage`, one district",
            timed(
                lambda: selectors.coverage(actor=commander, campaign=campaign, node=district.code),
                args.runs,
            ),
        )
    )
    results.append(
        (
            "`coverage`, one community",
            timed(
                lambda: selectors.coverage(actor=commander, campaign=campaign, node=community.code),
                args.runs,
            ),
        )
    )
    if not args.counters_only:
        results.append(
            (
                "`unreached_list`, the city, first 50",
                timed(
                    lambda: list(selectors.unreached_list(actor=commander, campaign=campaign)[:50]),
                    args.runs,
                ),
            )
        )
        grid = (
            Jurisdiction.objects.filter(level="grid", path__startswith=district.path)
            .order_by("path")
            .first()
        )
        worker, _ = User.objects.get_or_create(
            username="bench-grid-worker", defaults={"role": "grid_worker", "jurisdiction": grid}
        )
        todo = iter(
            list(
                Assignment.objects.filter(
                    campaign=campaign, grid=grid, visited_at__isnull=True
                ).order_by("id")[: args.runs + 1]
            )
        )

        def one_visit():
            a = next(todo)
            members = list(a.household.members.values_list("id", "name")[:3])
            services.visit_record(
                actor=worker,
                client_id=uuid.uuid4(),
                assignment_id=a.pk,
                version=a.version,
                outcome="met",
                visited_at=timezone.now(),
                people=[
                    {"person": pk, "name": name, "vaccination": "full"} for pk, name in members
                ],
            )

        results.append(
            (
                "`visit_record` through the service (one visit, counters kept)",
                timed(one_visit, args.runs),
            )
        )
    client = Client()
    client.force_login(commander)
    url = f"/screening/campaigns/{campaign.pk}/"
    assert client.get(url, HTTP_HOST="127.0.0.1").status_code == 200
    results.append(
        (
            "the page `/screening/campaigns/<pk>/` for the commander",
            timed(lambda: client.get(url, HTTP_HOST="127.0.0.1"), args.runs),
        )
    )
    load = os.getloadavg()
    print(
        f"\n{households:,} households in {grids:,} grids; "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
    )
    print("| measurement | median (ms) | all runs (ms) |")
    print("| --- | ---: | --- |")
    for name, runs in results:
        print(
            f"| {name} | {statistics.median(runs):,.0f} | {', '.join(f'{r:.0f}' for r in runs)} |"
        )
    Campaign.objects.filter(pk=campaign.pk).update(status="closed")


if __name__ == "__main__":
    main()
