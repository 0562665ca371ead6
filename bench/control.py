"""Benchmark of control on PostgreSQL: 200,000 people under control in a 10-million city.

    .venv/bin/python bench/control.py [--population 10000000] [--orders 200000] [--batch 10000]
        [--runs 5]

In its own database (fkc_bench): builds the city with `fangkong synth --population N --seed 2022`
unless it already holds N people, then, by set-based SQL, 200,000 open control orders under the
ed. 9 preset spread over the whole city (every k-th resident, started over the last 9 days), their
steps and scheduled tests, 200 isolation sites of 300 rooms (60,000 rooms; the 40,000 earliest
centralized orders occupy one each) and yesterday's health checks for 95 % of the orders. Then it
times, in process and warm, through the real services and selectors:

1. `rooms_assign_batch` for 10,000 new close contacts (centralized, no room yet), undone by SQL
   between runs;
2. the control board of the city: `control_board` for the city node, and the whole page
   `/control/` rendered for the commander (board + site occupancy + reserve);
3. `daily_alerts_compute` for yesterday over all orders (missed checks, fevers, symptoms), the
   alerts deleted between runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("FK_BENCH_DB", "fkc_bench")  # the only database this bench touches
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
ENV = {**os.environ, "FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
SITES, ROOMS_PER_SITE = 200, 300


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def use_database(name: str) -> None:
    """Point this module's builders at another bench's own database (bench/figures_agree.py,
    bench/screening.py build the same city in theirs)."""
    global DB, URL, ENV
    DB = name
    URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
    ENV = {
        **os.environ,
        "FANGKONG_DATABASE_URL": URL,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }


def sql(statement: str, params=None, url: str | None = None):
    import psycopg

    url = url or URL

    with psycopg.connect(url, autocommit=True) as conn:
        # current_date must be the Asia/Shanghai date, the one the services count days in.
        conn.execute("SET TIME ZONE 'Asia/Shanghai'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def prepare() -> None:
    if not sql("SELECT 1 FROM pg_database WHERE datname = %s", [DB], url=ADMIN_URL):
        sql(f"CREATE DATABASE {DB}", url=ADMIN_URL)
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "fangkong"), "migrate", "-v", "0"],
        env=ENV,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr)


CONTROL_TABLES = (
    "control_stay, control_healthcheck, control_controltest, control_orderstep, "
    "control_controlorder, control_room, control_floor, control_sitecontact, control_site, "
    "common_alert"
)


def build_city(population: int, clear: str = CONTROL_TABLES) -> None:
    """The city of `fangkong synth`, unless the database holds it already; `clear`: the bench's
    own tables that refer to the people, emptied before the people are made again."""
    have = sql("SELECT count(*) FROM people_person")[0][0]
    if have == population:
        log(f"city of {population:,} people already there")
        return
    log(f"building a city of {population:,} people with fangkong synth (minutes)")
    sql(f"TRUNCATE {clear} CASCADE")
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "fangkong"),
            "synth",
            "--population",
            str(population),
            "--seed",
            "2022",
            "--reset",
        ],
        env=ENV,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    log(f"  synth in {time.perf_counter() - started:.0f} s")


def build_control(orders: int) -> None:
    have = sql("SELECT count(*) FROM control_controlorder")[0][0]
    if have >= orders:
        log(f"{have:,} control orders already there")
        return
    log(f"building {orders:,} control orders, {SITES * ROOMS_PER_SITE:,} rooms, checks")
    started = time.perf_counter()
    sql(
        "TRUNCATE control_stay, control_healthcheck, control_controltest, control_orderstep, "
        "control_controlorder, control_room, control_floor, control_sitecontact, control_site, "
        "common_alert CASCADE"
    )
    population = sql("SELECT count(*) FROM people_person")[0][0]
    step = max(population // orders, 1)
    policy = sql("SELECT id FROM control_policy WHERE code = 'plan-ed9' AND version = 1")[0][0]
    # Orders started 0-8 days ago; ed. 9 close contacts: 7 days centralized, then 3 at home.
    sql(
        f"""
        INSERT INTO control_controlorder (person_id, jpath, category, policy_id, status, start,
            start_date, end_date, measure, reason, source, created_at, self_report_version)
        SELECT id, jpath, 'close_contact', {policy}, 'open',
               (current_date - d)::timestamp + interval '9 hours',
               current_date - d, current_date - d + 9,
               CASE WHEN d < 7 THEN 'centralized' ELSE 'home_monitoring' END,
               'bench', 'bench', now(), 1
        FROM (SELECT id, jpath, ((row_number() OVER (ORDER BY id)) % 9)::int AS d,
                     row_number() OVER (ORDER BY id) AS n
              FROM people_person) p
        WHERE n % {step} = 0 AND n / {step} <= {orders}
        """
    )
    sql("""
        INSERT INTO control_orderstep (order_id, seq, measure, start_date, end_date)
        SELECT id, 1, 'centralized', start_date, start_date + 6 FROM control_controlorder
        UNION ALL
        SELECT id, 2, 'home_monitoring', start_date + 7, start_date + 9 FROM control_controlorder
    """)
    sql("""
        INSERT INTO control_controltest (order_id, day, scheduled_date, result)
        SELECT o.id, t.day, o.start_date + t.day - 1,
               CASE WHEN o.start_date + t.day - 1 < current_date THEN 'negative' ELSE 'pending' END
        FROM control_controlorder o CROSS JOIN (VALUES (1), (2), (3), (5), (7), (10)) t(day)
    """)
    # Sites in the districts, proportional to nothing in particular: site i in district i mod n.
    sql(f"""
        INSERT INTO control_site (code, name, kind, jurisdiction_id, jpath, address, capacity,
                                  reserve_target, active)
        SELECT 'B' || lpad(i::text, 4, '0'), '隔离点 ' || i, 'hotel', d.id, d.path, '', {ROOMS_PER_SITE},
               0, true
        FROM generate_series(1, {SITES}) i
        JOIN (SELECT id, path, row_number() OVER (ORDER BY path) - 1 AS k,
                     count(*) OVER () AS n FROM geo_jurisdiction WHERE level = 'district') d
          ON d.k = i % d.n
    """)
    sql("""
        INSERT INTO control_floor (site_id, number)
        SELECT s.id, f FROM control_site s CROSS JOIN generate_series(1, 10) f
    """)
    sql(f"""
        INSERT INTO control_room (site_id, floor_id, number, zone, state, family_allowed)
        SELECT f.site_id, f.id, f.number::text || lpad(r::text, 2, '0'), 'contaminated', 'vacant',
               false
        FROM control_floor f CROSS JOIN generate_series(1, {ROOMS_PER_SITE // 10}) r
    """)
    # The earliest centralized orders sit in rooms of their own district's sites where possible.
    sql("""
        WITH o AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM control_controlorder
                   WHERE measure = 'centralized' LIMIT 40000),
             r AS (SELECT id, row_number() OVER (ORDER BY site_id, number) AS n FROM control_room)
        UPDATE control_controlorder c SET room_id = r.id FROM o JOIN r ON r.n = o.n
        WHERE c.id = o.id
    """)
    sql("""
        UPDATE control_room SET state = 'occupied'
        WHERE id IN (SELECT room_id FROM control_controlorder WHERE room_id IS NOT NULL)
    """)
    sql("""
        INSERT INTO control_stay (order_id, room_id, assigned_at, checked_in_at)
        SELECT id, room_id, start, start + interval '2 hours' FROM control_controlorder
        WHERE room_id IS NOT NULL
    """)
    # Yesterday's checks for 95 % of the orders in force yesterday; a few fevers and symptoms.
    sql("""
        INSERT INTO control_healthcheck (order_id, day, temperature, symptoms, source, recorded_at)
        SELECT id, current_date - 1,
               CASE WHEN id % 500 = 1 THEN 37.8 ELSE 36.5 END,
               CASE WHEN id % 700 = 3 THEN '咳嗽' ELSE '' END, 'worker', now()
        FROM control_controlorder
        WHERE id % 20 <> 0 AND start_date <= current_date - 1 AND end_date >= current_date - 1
    """)
    for table in (
        "control_controlorder",
        "control_orderstep",
        "control_controltest",
        "control_room",
        "control_stay",
        "control_healthcheck",
    ):
        sql(f"VACUUM ANALYZE {table}")
    log(f"  built in {time.perf_counter() - started:.0f} s")


def django_setup():
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]


def new_contacts(batch: int) -> list[int]:
    """`batch` fresh close contacts (centralized today, no room), replacing earlier bench ones."""
    undo_assignment()
    sql("DELETE FROM control_controlorder WHERE source = 'bench-new'")
    policy = sql("SELECT id FROM control_policy WHERE code = 'plan-ed9' AND version = 1")[0][0]
    rows = sql(
        f"""
        INSERT INTO control_controlorder (person_id, jpath, category, policy_id, status, start,
            start_date, end_date, measure, reason, source, created_at, self_report_version)
        SELECT p.id, p.jpath, 'close_contact', {policy}, 'open', now(), current_date,
               current_date + 9, 'centralized', 'bench', 'bench-new', now(), 1
        FROM people_person p
        WHERE NOT EXISTS (SELECT 1 FROM control_controlorder o WHERE o.person_id = p.id)
          AND p.id % 500 = 1
        ORDER BY p.id LIMIT {batch}
        RETURNING id
        """
    )
    return [r[0] for r in rows]


def undo_assignment() -> None:
    sql(
        "UPDATE control_room SET state = 'vacant' WHERE id IN "
        "(SELECT room_id FROM control_controlorder WHERE source = 'bench-new' AND room_id IS NOT NULL)"
    )
    sql(
        "DELETE FROM control_stay WHERE order_id IN "
        "(SELECT id FROM control_controlorder WHERE source = 'bench-new')"
    )
    sql("UPDATE control_controlorder SET room_id = NULL WHERE source = 'bench-new'")


def timed(fn, runs: int, before=None) -> list[float]:
    out = []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def report(label: str, times: list[float], target: float) -> None:
    med = statistics.median(times)
    runs = ", ".join(f"{t * 1000:.0f}" if t < 10 else f"{t:.1f}s" for t in times)
    ok = "met" if med < target else "NOT MET"
    print(f"| {label} | {med * 1000:,.0f} ms | {runs} | < {target * 1000:,.0f} ms: {ok} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    prepare()
    build_city(args.population)
    build_control(args.orders)
    django_setup()

    import datetime as dt

    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from fangkong.accounts.models import User
    from fangkong.control import selectors, services
    from fangkong.geo.models import Jurisdiction

    ids = new_contacts(args.batch)
    assert len(ids) == args.batch, len(ids)
    counts = sql(
        "SELECT (SELECT count(*) FROM people_person), "
        "(SELECT count(*) FROM control_controlorder WHERE status = 'open' AND source = 'bench'), "
        "(SELECT count(*) FROM control_room), "
        "(SELECT count(*) FROM control_room WHERE state = 'vacant')"
    )[0]
    print(
        f"\npeople {counts[0]:,}; open orders {counts[1]:,} + {args.batch:,} new contacts; rooms {counts[2]:,}, "
        f"vacant {counts[3]:,}\n"
    )
    print("| measurement | median | runs (ms) | target |")
    print("| --- | ---: | --- | --- |")

    results = []

    def assign():
        results.append(services.rooms_assign_batch(actor=None, orders=ids))

    times = timed(assign, args.runs, before=undo_assignment)
    assert results[-1] == {"assigned": args.batch, "unassigned": 0}, results[-1]
    report(f"`rooms_assign_batch`, {args.batch:,} contacts", times, 10)

    city = Jurisdiction.objects.get(level="city")
    commander, _ = User.objects.get_or_create(
        username="bench-commander", defaults={"role": "commander", "jurisdiction": city}
    )
    # A rebuilt city detaches users from the old tree.
    commander.jurisdiction = city
    commander.save(update_fields=["jurisdiction"])
    selectors.control_board(actor=commander, node=city)
    report(
        "`control_board`, city (10 districts)",
        timed(lambda: selectors.control_board(actor=commander, node=city), args.runs + 2),
        0.5,
    )
    client = Client()
    client.force_login(commander)
    assert client.get("/control/").status_code == 200

    def page():
        assert client.get("/control/").status_code == 200

    report(
        "page `/control/` for the commander (board + sites + reserve)",
        timed(page, args.runs + 2),
        0.5,
    )

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    out = []

    def clear():
        # Each run starts from a clean alert table, as the first computation of a day does.
        sql("DELETE FROM common_alert WHERE kind LIKE 'control%%'")
        sql("VACUUM ANALYZE common_alert")

    times = timed(
        lambda: out.append(services.daily_alerts_compute(day=yesterday)), args.runs, clear
    )
    report(f"`daily_alerts_compute`, {counts[1] + args.batch:,} orders", times, 5)
    print(f"\nalerts raised per run: {out[-1]}")
    connection.close()


if __name__ == "__main__":
    main()
