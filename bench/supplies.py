"""Benchmark of supplies on PostgreSQL: days of cover for a 10-million city, and ledger writes.

    .venv/bin/python bench/supplies.py [--warehouses 2000] [--items 60] [--rows 1000000] [--runs 7]

Builds, in the database fk_bench_supplies, a city of 12 districts × 10 streets × 16 communities,
2,000 warehouses (a municipal reserve, one per district, one per street, the rest in communities),
60 items, and a ledger of 1 million lines over 60 days (one opening receipt per warehouse and
item, the rest daily issues) written by INSERT … SELECT over generate_series; balances are then
derived from the ledger in one GROUP BY, exactly as `balances_verify(repair=True)` would.
It times, warm and in process, `cover_table` for the city (broken down by district) and for every
district (broken down by street), and `balances_verify` over the whole ledger; then the ledger
write throughput through the services (issue, transfer) on one connection and on several threads.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("FK_BENCH_DB", "fk_bench_supplies")
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
ENV = {**os.environ, "FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
sys.path.insert(0, str(Path(__file__).resolve().parent))
import control as base  # noqa: E402  (bench/control.py: log, create and migrate the database)

base.use_database(DB)
log, prepare = base.log, base.prepare
DAYS = 60
TODAY = "2026-11-23"
DISTRICTS, STREETS, COMMUNITIES = 12, 10, 16


def sql(statement: str, params=None, url: str = URL):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET work_mem = '256MB'")
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def build(warehouses: int, items: int, rows: int) -> None:
    have = sql("SELECT count(*) FROM supplies_movement")[0][0]
    if have >= rows:
        log(f"ledger of {have:,} lines already there")
        return
    log("building the tree, warehouses, items and ledger")
    started = time.perf_counter()
    sql(
        "TRUNCATE supplies_allocation, supplies_movement, supplies_balance, supplies_supplyrequest, "
        "supplies_warehouse, supplies_outputreport, supplies_capacity, supplies_enterprise, supplies_item CASCADE"
    )
    if not sql("SELECT 1 FROM geo_jurisdiction WHERE code = '320100'"):
        sql("""INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth)
               VALUES ('320000', NULL, 'province', '江苏省', '', '/320000/', 0)""")
        sql("""INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth, population)
               SELECT '320100', id, 'city', '南京市', '', '/320000/320100/', 1, 10000000
               FROM geo_jurisdiction WHERE code = '320000'""")
        sql(f"""INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth)
               SELECT '3201' || lpad(d::text, 2, '0'), c.id, 'district', '区' || d, '',
                      c.path || '3201' || lpad(d::text, 2, '0') || '/', 2
               FROM geo_jurisdiction c, generate_series(1, {DISTRICTS}) d WHERE c.code = '320100'""")
        sql(f"""INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth)
               SELECT d.code || lpad(s::text, 3, '0'), d.id, 'street', d.name || '街道' || s, '',
                      d.path || d.code || lpad(s::text, 3, '0') || '/', 3
               FROM geo_jurisdiction d, generate_series(1, {STREETS}) s WHERE d.level = 'district'""")
        sql(f"""INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth)
               SELECT s.code || lpad(c::text, 3, '0'), s.id, 'community', s.name || '社区' || c, '',
                      s.path || s.code || lpad(c::text, 3, '0') || '/', 4
               FROM geo_jurisdiction s, generate_series(1, {COMMUNITIES}) c WHERE s.level = 'street'""")
    sql(f"""INSERT INTO supplies_item (code, name, name_en, category, grade, unit, active)
            SELECT 'I' || lpad(i::text, 3, '0'), '物资' || i, '', 'protection', '', '件', true
            FROM generate_series(1, {items}) i""")
    # The reserve, then districts, streets, and communities in path order until the count is met.
    sql(f"""INSERT INTO supplies_warehouse (code, name, address, kind, jurisdiction_id, jpath)
            SELECT 'W' || j.code, j.name || '仓库', '',
                   CASE j.level WHEN 'city' THEN 'reserve' ELSE 'district' END, j.id, j.path
            FROM geo_jurisdiction j
            WHERE j.level IN ('city', 'district', 'street', 'community')
            ORDER BY j.depth, j.path LIMIT {warehouses}""")
    pairs = warehouses * items
    issues = rows - pairs
    sql(f"""INSERT INTO supplies_movement (warehouse_id, item_id, jpath, kind, quantity, day, occurred_at,
                                           reason, reference)
            SELECT w.id, i.id, w.jpath, 'receipt', 5000, date '{TODAY}' - {DAYS}, now(), '', 'opening'
            FROM supplies_warehouse w CROSS JOIN supplies_item i""")
    sql("SELECT setseed(0.42)")
    sql(f"""INSERT INTO supplies_movement (warehouse_id, item_id, jpath, kind, quantity, day, occurred_at,
                                           reason, reference)
            SELECT w.id, i.id, w.jpath, 'issue', -(1 + (g::bigint * 7919) % 200),
                   date '{TODAY}' - 1 - (g % {DAYS}), now(), '', ''
            FROM generate_series(0, {issues - 1}) g
            JOIN (SELECT id, jpath, row_number() OVER (ORDER BY id) - 1 AS k FROM supplies_warehouse) w
              ON w.k = (g::bigint * 2654435761) % {warehouses}
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM supplies_item) i
              ON i.k = (g / {warehouses}) % {items}""")
    sql("""INSERT INTO supplies_balance (warehouse_id, item_id, jpath, quantity, updated_at)
           SELECT m.warehouse_id, m.item_id, min(m.jpath), sum(m.quantity), now()
           FROM supplies_movement m GROUP BY m.warehouse_id, m.item_id""")
    sql("VACUUM ANALYZE supplies_movement")
    sql("VACUUM ANALYZE supplies_balance")
    sql("ANALYZE geo_jurisdiction")
    log(f"  built in {time.perf_counter() - started:.0f} s")


def django_setup():
    os.environ.update(
        {"FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def timed(fn, runs: int) -> tuple[float, float]:
    """(first, median of the warm runs) in milliseconds."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(times[0], 1), round(statistics.median(times[1:]), 1)


def reads(runs: int) -> dict:
    import datetime as dt

    from fangkong.geo.models import Jurisdiction
    from fangkong.supplies.selectors import cover_table
    from fangkong.supplies.services import balances_verify

    today = dt.date.fromisoformat(TODAY)
    city = Jurisdiction.objects.get(code="320100")
    districts = list(Jurisdiction.objects.filter(parent=city).order_by("path"))
    table = cover_table(actor=None, node=city, today=today)
    result = {
        "ledger_lines": __import__(
            "fangkong.supplies.models", fromlist=["Movement"]
        ).Movement.objects.count(),
        "city_rows": len(table["total"]) + len(table["rows"]),
        "city_cover_ms": timed(lambda: cover_table(actor=None, node=city, today=today), runs),
    }
    per_district = [
        timed(lambda d=d: cover_table(actor=None, node=d, today=today), runs)[1] for d in districts
    ]
    result["district_cover_ms_median"] = round(statistics.median(per_district), 1)
    result["district_cover_ms_max"] = round(max(per_district), 1)
    result["all_districts_ms_total"] = round(sum(per_district), 1)
    started = time.perf_counter()
    drift = balances_verify()
    result["balances_verify_s"] = round(time.perf_counter() - started, 2)
    result["drift"] = len(drift)
    return result


def writes(seconds: float, threads: int) -> dict:
    from django.db import connection

    from fangkong.supplies import services
    from fangkong.supplies.models import Item, Warehouse

    items = list(Item.objects.order_by("id"))
    stores = list(Warehouse.objects.filter(kind="district").order_by("id"))
    reserve = Warehouse.objects.get(kind="reserve")

    def run(kind: str, worker: int, out: list) -> None:
        n, k, stop = 0, worker, time.perf_counter() + seconds
        while time.perf_counter() < stop:
            store = stores[k % len(stores)]
            item = items[(k // len(stores)) % len(items)]
            if kind == "issue":
                services.stock_issue(actor=None, warehouse=store, item=item, quantity=1)
            else:
                services.stock_transfer(
                    actor=None, source=reserve, destination=store, item=item, quantity=1
                )
            n += 1
            k += threads
        out.append(n)
        connection.close()

    result = {}
    for kind in ("issue", "transfer"):
        for count in (1, threads):
            out: list[int] = []
            workers = [threading.Thread(target=run, args=(kind, w, out)) for w in range(count)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            result[f"{kind}_per_s_{count}_conn"] = round(sum(out) / seconds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouses", type=int, default=2000)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write-seconds", type=float, default=5)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    prepare()
    build(args.warehouses, args.items, args.rows)
    django_setup()
    result = {"reads": reads(args.runs), "writes": writes(args.write_seconds, args.threads)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
