"""Benchmark of the HQ dashboard and Rt on PostgreSQL: a 10-million city, a 60-day outbreak.

    .venv/bin/python bench/dashboard.py [--runs 7] [--rebuild] [--population 10000000]
                                        [--database fkd_bench] [--drop]

Builds, in the database fkd_bench (--database), a city of 10,000,000 declared residents
(--population; every volume below scales with it, the tree does not): 12 districts × 12
streets × 16 communities × 4 grids (9,216 grids). The outbreak is generated directly with
set-based SQL (INSERT … SELECT over generate_series), not by `fangkong synth` + the demo steps:
a 10 M synth plans in Python for minutes, and the dashboard never reads the registry itself,
only the rows the outbreak touches. So the registry holds the ~200,000 people who are cases or
under control, and the tables the dashboard reads hold what a 10 M outbreak of 60 days would:

* ~32,000 cases (peak ~1,500 a day on day 35, 65 % confirmed), 2 activities each;
* 150,000 control orders of the last 14 days (two steps each), 30,000 isolation rooms;
* one open city-wide testing round: 9,216 per-grid counts, 1,200,000 tubes over 3 days,
  40 labs; 2,000 tasks (150 overdue), 500 open alerts; 20 items × 200 warehouses of supplies.

It times in process, warm (first call discarded, then the median of --runs):
the city dashboard (`dashboard_data`) and the full page (`GET /analytics/` through Django's test
client: selectors, template, JSON), every district's dashboard, the panel the page polls, and Rt
for 60 days × every district (the one GROUP BY and the vectorised Cori estimate), and × every
street.
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
ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
DB = "fkd_bench"
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
SETTINGS = "config.settings.test"
DISTRICTS, STREETS, COMMUNITIES, GRIDS = 12, 12, 16, 4
NAMES = ["玄武区", "秦淮区", "建邺区", "鼓楼区", "浦口区", "栖霞区", "雨花台区", "江宁区", "六合区",
         "溧水区", "高淳区", "江北新区"]  # fmt: skip
POPULATION = 10_000_000


def scaled(n: int, minimum: int = 1) -> int:
    """A volume of the 10-million city scaled to --population."""
    return max(minimum, round(n * POPULATION / 10_000_000))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sql(statement: str, params=None, url: str | None = None):
    import psycopg

    with psycopg.connect(url or URL, autocommit=True) as conn:
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET TIME ZONE 'Asia/Shanghai'")
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def use(database: str) -> None:
    global DB, URL
    DB, URL = database, f"postgres://postgres@127.0.0.1:5432/{database}"


def exists(database: str) -> bool:
    return bool(sql("SELECT 1 FROM pg_database WHERE datname = %s", [database], url=ADMIN))


def prepare(database: str, rebuild: bool) -> None:
    """The bench's database, built whole or not at all: it is built under a scratch name and
    renamed when complete, so a build that fails half-way (a schema change, a full disk) leaves
    nothing the next run could mistake for a finished city."""
    if rebuild:
        sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', url=ADMIN)
    if exists(database):
        use(database)
        log(f"{database}: already built")
        return
    scratch = f"{database}_building"
    sql(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)', url=ADMIN)
    sql(f'CREATE DATABASE "{scratch}"', url=ADMIN)
    use(scratch)
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "fangkong"), "migrate", "-v", "0"],
        env={**os.environ, "FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": SETTINGS},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    build()
    sql(f'ALTER DATABASE "{scratch}" RENAME TO "{database}"', url=ADMIN)
    use(database)


def build() -> None:
    started = time.perf_counter()
    log("building the tree")
    sql("""INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth, population)
           VALUES ('320000', NULL, 'province', '江苏省', 'Jiangsu', '/320000/', 0, NULL)""")
    sql(
        """INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth, population)
           SELECT '320100', id, 'city', '南京市', 'Nanjing', '/320000/320100/', 1, %s
           FROM geo_jurisdiction WHERE code = '320000'""",
        [POPULATION],
    )
    sql(
        """INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth, population)
           SELECT '3201' || lpad(d::text, 2, '0'), c.id, 'district', (%s::text[])[d], '',
                  c.path || '3201' || lpad(d::text, 2, '0') || '/', 2, %s / %s
           FROM geo_jurisdiction c, generate_series(1, %s) d WHERE c.code = '320100'""",
        [NAMES, POPULATION, DISTRICTS, DISTRICTS],
    )
    for level, parent, count, suffix, depth in [
        ("street", "district", STREETS, "街道", 3),
        ("community", "street", COMMUNITIES, "社区", 4),
        ("grid", "community", GRIDS, "网格", 5),
    ]:
        width = 3 if level != "grid" else 2
        prefix = "G" if level == "grid" else ""
        sql(f"""INSERT INTO geo_jurisdiction (code, parent_id, level, name, name_en, path, depth)
                SELECT p.code || '{prefix}' || lpad(s::text, {width}, '0'), p.id, '{level}',
                       p.name || '第' || s || '{suffix}', '',
                       p.path || p.code || '{prefix}' || lpad(s::text, {width}, '0') || '/', {depth}
                FROM geo_jurisdiction p, generate_series(1, {count}) s WHERE p.level = '{parent}'""")
    sql("ANALYZE geo_jurisdiction")

    log("people the outbreak touches, cases and activities")
    # Day d = 0..59 (59 = today) has round(1500 exp(-((d-35)/12)^2)) cases (at 10 M).
    peak, touched = 1500 * POPULATION / 10_000_000, scaled(200_000, 1_000)
    sql("""CREATE TEMP TABLE IF NOT EXISTS x (n int)""")
    sql(f"""INSERT INTO people_person (document_type, document_number, name, sex, birth_date, phone,
                                      grid_id, jpath, household_id, address, tags, created_at, updated_at)
           SELECT 'passport', 'B' || lpad(i::text, 17, '0'),
                  (ARRAY['张','王','李','赵','陈','刘','杨','黄','周','吴'])[1 + i % 10] || '某' || i,
                  CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END,
                  date '1950-01-01' + (i * 37) % 25000, '139' || lpad(i::text, 8, '0'),
                  g.id, g.path, NULL, '', 0, now(), now()
           FROM generate_series(1, {touched}) i
           JOIN (SELECT id, path, row_number() OVER (ORDER BY path) - 1 AS k
                 FROM geo_jurisdiction WHERE level = 'grid') g ON g.k = (i::bigint * 7919) % 9216""")
    sql(f"""INSERT INTO tracing_case (person_id, jpath, code, classification, severity, found_by,
                                     under_control_when_found, onset_date, sampling_date, reported_at,
                                     report_date, source_tube, notes, window_edited, created_at,
                                     updated_at)
           SELECT p.id, p.jpath, 'C' || lpad(r.k::text, 7, '0'),
                  CASE WHEN r.k % 20 < 13 THEN 'confirmed' ELSE 'asymptomatic' END, '',
                  CASE WHEN r.k % 5 < 3 THEN 'under_control' WHEN r.k % 5 = 3 THEN 'pool_screening'
                       ELSE 'fever_clinic' END,
                  r.k % 5 < 3,
                  CASE WHEN r.k % 20 < 13 THEN r.day - (r.k % 4)::int END, r.day,
                  r.day + time '10:00', r.day, '', '', false, now(), now()
           FROM (SELECT row_number() OVER () AS k, current_date - 59 + d AS day
                 FROM generate_series(0, 59) d,
                      generate_series(1, round({peak} * exp(-(((d - 35) / 12.0) ^ 2)))::int)) r
           JOIN people_person p ON p.document_number = 'B' || lpad(r.k::text, 17, '0')""")
    sql("""INSERT INTO tracing_activity (case_id, setting, place, address, place_jpath, start, "end",
                                         companions, public)
           SELECT c.id, 'venue', '超市' || (c.id % 500), '中山路 ' || (c.id % 300) || ' 号', c.jpath,
                  c.reported_at - interval '1 day' * (1 + a) - interval '2 hours',
                  c.reported_at - interval '1 day' * (1 + a) - interval '1 hour', '', (c.id + a) % 5 < 2
           FROM tracing_case c, generate_series(0, 1) a""")

    log("control orders, sites and rooms")
    policy = sql("SELECT id FROM control_policy ORDER BY id LIMIT 1")[0][0]
    ncases = sql("SELECT count(*) FROM tracing_case")[0][0]
    sql(f"""INSERT INTO control_controlorder (person_id, jpath, category, policy_id, status, start,
                                              start_date, end_date, measure, reason, source, room_id,
                                              released_at, released_by_id, self_report_version,
                                              created_at)
            SELECT p.id, p.jpath, 'close_contact', {policy},
                   CASE WHEN p.id % 10 < 7 THEN 'open' ELSE 'released' END,
                   (current_date - (p.id % 14)::int) + time '08:00', current_date - (p.id % 14)::int,
                   current_date - (p.id % 14)::int + 9,
                   CASE WHEN p.id % 14 < 7 THEN 'centralized' ELSE 'home_monitoring' END,
                   '密接', 'bench', NULL,
                   CASE WHEN p.id % 10 < 7 THEN NULL ELSE now() - interval '1 day' END, NULL, 0,
                   now()
            FROM people_person p
            WHERE p.id NOT IN (SELECT person_id FROM tracing_case)
            ORDER BY p.id LIMIT {scaled(150_000)}""")
    sql("""INSERT INTO control_orderstep (order_id, seq, measure, start_date, end_date)
           SELECT o.id, s, CASE s WHEN 1 THEN 'centralized' ELSE 'home_monitoring' END,
                  CASE s WHEN 1 THEN o.start_date ELSE o.start_date + 7 END,
                  CASE s WHEN 1 THEN o.start_date + 6 ELSE o.end_date END
           FROM control_controlorder o, generate_series(1, 2) s""")
    sql(f"""INSERT INTO control_site (code, name, kind, jurisdiction_id, jpath, address, capacity,
                                     reserve_target, active)
           SELECT 'IS' || lpad(i::text, 4, '0'), '集中隔离点' || i, 'hotel', s.id, s.path, '', 100, 10, true
           FROM generate_series(1, {scaled(300)}) i
           JOIN (SELECT id, path, row_number() OVER (ORDER BY path) - 1 AS k
                 FROM geo_jurisdiction WHERE level = 'street') s ON s.k = i % 144""")
    sql("""INSERT INTO control_floor (site_id, number) SELECT id, 1 FROM control_site""")
    sql("""INSERT INTO control_room (site_id, floor_id, number, zone, state, family_allowed)
           SELECT f.site_id, f.id, lpad(r::text, 3, '0'), 'contaminated',
                  CASE WHEN r % 10 < 7 THEN 'occupied' WHEN r % 10 < 9 THEN 'vacant' ELSE 'cleaning' END,
                  false
           FROM control_floor f, generate_series(1, 100) r""")

    log("a testing round: per-grid counts, labs, sites and tubes")
    per = POPULATION // 9216
    sql("""INSERT INTO testing_round (code, name, starts_at, ends_at, status, pool_size, pooling,
                                      target, warning_hours, breach_hours, created_at, created_by_id)
           VALUES ('R-BENCH', '第十轮全员核酸检测', now() - interval '2 days', NULL, 'open', 10, '{}',
                   'everyone', NULL, NULL, now(), NULL)""")
    sql("""INSERT INTO testing_roundscope (round_id, jurisdiction_id, path)
           SELECT r.id, j.id, j.path FROM testing_round r, geo_jurisdiction j WHERE j.code = '320100'""")
    sql(f"""INSERT INTO testing_gridstat (round_id, grid_id, path, expected, sampled, resulted, negative,
                                         recheck, positive, resample, refreshed_at)
           SELECT r.id, g.id, g.path, {per}, greatest(0, {per} - g.id % 120),
                  greatest(0, {per} - 85 - g.id % 150), greatest(0, {per} - 87 - g.id % 150),
                  g.id % 3, (g.id % 97 = 0)::int, 0, now() + interval '1 day'
           FROM testing_round r, geo_jurisdiction g WHERE g.level = 'grid'""")
    sql("""INSERT INTO testing_lab (code, name, jurisdiction_id, jpath, daily_capacity)
           SELECT 'LAB' || i, '检测实验室' || i, j.id, j.path, 25000
           FROM generate_series(1, 40) i JOIN geo_jurisdiction j ON j.code = '320100'""")
    sql("""INSERT INTO testing_site (code, name, kind, jurisdiction_id, jpath, address, latitude,
                                     longitude, opening_hours, desks, samplers)
           SELECT 'SS' || lpad(i::text, 5, '0'), '采样点' || i, 'fixed', c.id, c.path, '', NULL, NULL, '', 4, 8
           FROM generate_series(1, 2304) i
           JOIN (SELECT id, path, row_number() OVER (ORDER BY path) AS k
                 FROM geo_jurisdiction WHERE level = 'community') c ON c.k = i""")
    sql(f"""INSERT INTO testing_tube (barcode, round_id, site_id, jpath, kind, subject, capacity,
                                      members, status, box_id, lab_id, opened_at, sampled_at, boxed_at,
                                      handed_over_at, received_at, tested_at, reported_at, result,
                                      ct_orf1ab, ct_n, subject_label)
            SELECT 'T' || lpad(i::text, 9, '0'), r.id, s.id, s.jpath, 'pool', 'person', 10, 10,
                   CASE WHEN i % 100 < 85 THEN 'resulted' ELSE 'received' END, NULL, NULL,
                   now() - interval '1 minute' * (i % 4000), now() - interval '1 minute' * (i % 4000),
                   NULL, NULL, NULL, NULL,
                   CASE WHEN i % 100 < 85 THEN now() - interval '1 minute' * (i % 4000) + interval '6 hours' END,
                   CASE WHEN i % 100 < 85 THEN (CASE WHEN i % 9973 = 0 THEN 'positive' ELSE 'negative' END) ELSE '' END,
                   NULL, NULL, ''
            FROM generate_series(1, {scaled(1_200_000)}) i
            JOIN testing_round r ON r.code = 'R-BENCH'
            JOIN (SELECT id, jpath, row_number() OVER (ORDER BY id) - 1 AS k FROM testing_site) s
              ON s.k = i % 2304""")

    log("tasks, alerts and supplies")
    sql("""INSERT INTO accounts_user (password, last_login, is_superuser, username, first_name, last_name,
                                      email, is_staff, is_active, date_joined, role, working_group,
                                      jurisdiction_id, display_name)
           SELECT '!', NULL, false, 'bench_commander', '', '', '', false, true, now(), 'commander', '',
                  id, '王指挥' FROM geo_jurisdiction WHERE code = '320100'""")
    sql("""INSERT INTO command_task (title, description, deadline, priority, state, percent,
                                     assignee_unit_id, assignee_node_id, assignee_user_id, dispatcher_id,
                                     dispatcher_path, assignee_path, escalation_level, escalated_at,
                                     created_at, finished_at)
           SELECT '任务' || i, '', now() + CASE WHEN i <= 150 THEN -interval '5 hours' ELSE interval '1 day' END,
                  'normal', 'open', 0, NULL, g.id, NULL, u.id, '/320000/320100/', g.path, 0, NULL, now(), NULL
           FROM generate_series(1, 2000) i
           JOIN (SELECT id, path, row_number() OVER (ORDER BY path) AS k
                 FROM geo_jurisdiction WHERE level = 'street') g ON g.k = 1 + i % 144
           CROSS JOIN (SELECT id FROM accounts_user WHERE username = 'bench_commander') u""")
    sql("""INSERT INTO common_alert (kind, level, title, body, jurisdiction_path, object_type, object_id,
                                     dedupe_key, created_at, acknowledged_at, acknowledged_by_id)
           SELECT 'bench', 'warning', '预警' || i, '', g.path, '', '', NULL, now() - interval '1 minute' * i,
                  NULL, NULL
           FROM generate_series(1, 500) i
           JOIN (SELECT path, row_number() OVER (ORDER BY path) AS k
                 FROM geo_jurisdiction WHERE level = 'community') g ON g.k = 1 + i % 2304""")
    sql("""INSERT INTO supplies_item (code, name, name_en, category, grade, unit, active)
           SELECT 'I' || lpad(i::text, 3, '0'), '物资' || i, '', 'protection', '', '件', true
           FROM generate_series(1, 20) i""")
    sql("""INSERT INTO supplies_warehouse (code, name, address, kind, jurisdiction_id, jpath)
           SELECT 'W' || j.code, j.name || '仓库', '',
                  CASE j.level WHEN 'city' THEN 'reserve' ELSE 'district' END, j.id, j.path
           FROM geo_jurisdiction j WHERE j.level IN ('city', 'district', 'street')
           ORDER BY j.depth, j.path LIMIT 200""")
    sql("""INSERT INTO supplies_movement (warehouse_id, item_id, jpath, kind, quantity, day, occurred_at,
                                          reason, reference)
           SELECT w.id, i.id, w.jpath, CASE WHEN d = 0 THEN 'receipt' ELSE 'issue' END,
                  CASE WHEN d = 0 THEN 20000 ELSE -(50 + (w.id * 7 + i.id * 13 + d) % 400) END,
                  current_date - d, now(), '', ''
           FROM supplies_warehouse w CROSS JOIN supplies_item i CROSS JOIN generate_series(0, 14) d""")
    sql("""INSERT INTO supplies_balance (warehouse_id, item_id, jpath, quantity, updated_at)
           SELECT warehouse_id, item_id, min(jpath), sum(quantity), now()
           FROM supplies_movement GROUP BY warehouse_id, item_id""")
    for table in ["people_person", "tracing_case", "tracing_activity", "control_controlorder",
                  "control_orderstep", "control_room", "testing_tube", "testing_gridstat",
                  "command_task", "common_alert", "supplies_movement", "supplies_balance"]:  # fmt: skip
        sql(f"VACUUM ANALYZE {table}")
    cases = sql("SELECT count(*) FROM tracing_case")[0][0]
    log(f"  built in {time.perf_counter() - started:.0f} s: {cases:,} cases ({ncases:,})")


def django_setup():
    os.environ.update({"FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": SETTINGS})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def timed(fn, runs: int) -> float:
    """Median of `runs` warm calls in milliseconds (one call first to warm the caches)."""
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _cpu(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def first_requests(cookie: str, starts: int, *, warm: bool) -> tuple[list[float], list[float]]:
    """`fangkong serve` (production settings, one worker) started `starts` times: the time of the
    first GET /analytics/ once the worker is idle (its CPU time unchanged for a second), and of
    the second, each with every figure recomputed (the figure cache off)."""
    import http.client
    import socket
    import tempfile

    from django.conf import settings

    port = 18000 + os.getpid() % 1000
    static = Path(tempfile.gettempdir()) / f"{DB}_static"
    env = {
        **os.environ,
        "FANGKONG_DATABASE_URL": URL,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "FANGKONG_SECRET_KEY": settings.SECRET_KEY,  # the session below was signed with it
        "FANGKONG_SECURE_COOKIES": "0",
        "FANGKONG_SSL_REDIRECT": "0",
        "FANGKONG_STATIC_ROOT": str(static),
        # Every request recomputes every figure, so the first and the second do the same work
        # and differ only by what a fresh process has not built yet.
        "FANGKONG_DASHBOARD_CACHE_SECONDS": "0",
    }
    command = [str(ROOT / ".venv" / "bin" / "fangkong"), "serve", "--workers", "1"]
    command += ["--bind", f"127.0.0.1:{port}"] + ([] if warm else ["--no-warmup"])
    firsts, seconds = [], []
    for _ in range(starts):
        server = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 300
            while True:  # the port is bound (after the master's warm-up, when there is one)
                assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            last, still = None, 0
            while still < 5:  # and the worker has booted and gone idle
                assert time.monotonic() < deadline, "the worker did not settle"
                time.sleep(0.2)
                workers = _children(server.pid)
                now = sum(_cpu(w) for w in workers) if workers else None
                still = still + 1 if now is not None and now == last else 0
                last = now
            for out in (firsts, seconds):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                started = time.perf_counter()
                conn.request(
                    "GET",
                    "/analytics/",
                    headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
                )
                response = conn.getresponse()
                response.read()
                out.append(round((time.perf_counter() - started) * 1000, 1))
                assert response.status == 200, response.status
                conn.close()
        finally:
            server.terminate()
            server.wait()
    return firsts, seconds


def main() -> None:
    global POPULATION
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="drop the database and build anew")
    parser.add_argument("--population", type=int, default=POPULATION)
    parser.add_argument("--database", help="default fkd_bench (at 10 M) or fkd_bench_<population>")
    parser.add_argument("--drop", action="store_true", help="drop the database when done")
    parser.add_argument(
        "--starts",
        type=int,
        default=3,
        help="fresh `fangkong serve` starts timed for the first request, with and without the "
        "warm-up (0: none)",
    )
    args = parser.parse_args()
    POPULATION = args.population
    database = args.database or (
        "fkd_bench" if POPULATION == 10_000_000 else f"fkd_bench_{POPULATION}"
    )
    prepare(database, args.rebuild)
    try:
        run(args)
    finally:
        if args.drop:
            from django.db import connections

            connections.close_all()
            sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', url=ADMIN)


def run(args) -> None:
    django_setup()

    from django.conf import settings
    from django.test import Client
    from django.utils import timezone

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    from fangkong.accounts.models import User
    from fangkong.analytics import dashboard, rt, situation
    from fangkong.geo.models import Jurisdiction

    settings_cfg = situation.config()
    commander = User.objects.select_related("jurisdiction").get(username="bench_commander")
    city = Jurisdiction.objects.get(code="320100")
    districts = list(Jurisdiction.objects.filter(level="district").order_by("path"))
    today = timezone.localdate()
    client = Client()
    client.force_login(commander)
    results = []

    def page(url):
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    def row(name, ms, target=None):
        results.append((name, ms, target))
        log(f"  {name}: {ms:.1f} ms" + (f" (target {target} ms)" if target else ""))

    def city_board():
        return dashboard.dashboard_data(actor=commander, node=city, today=today)

    # Steady state: a node's figures are reused for one 60 s refresh period (as while screens
    # poll); then with that cache off, every figure recomputed on each call.
    settings.FANGKONG_DASHBOARD_CACHE_SECONDS = 60
    row("city dashboard_data, steady state", timed(city_board, args.runs), 500)
    settings.FANGKONG_DASHBOARD_CACHE_SECONDS = 0
    row("city dashboard_data, every figure recomputed", timed(city_board, args.runs), 500)
    row(
        "city page GET /analytics/, every figure recomputed",
        timed(lambda: page("/analytics/"), args.runs),
        500,
    )
    settings.FANGKONG_DASHBOARD_CACHE_SECONDS = 60
    row(
        "city page GET /analytics/, steady state",
        timed(lambda: page("/analytics/"), args.runs),
        500,
    )
    row(
        "city panel GET /analytics/panel/",
        timed(lambda: page("/analytics/panel/"), args.runs),
        500,
    )
    settings.FANGKONG_DASHBOARD_CACHE_SECONDS = 0
    cold = [
        timed(lambda d=d: dashboard.dashboard_data(actor=commander, node=d, today=today), 3)
        for d in districts
    ]
    row(
        "district dashboard_data, every figure recomputed, median of 12",
        statistics.median(cold),
        300,
    )
    settings.FANGKONG_DASHBOARD_CACHE_SECONDS = 60
    per_district = [
        timed(lambda d=d: dashboard.dashboard_data(actor=commander, node=d, today=today), args.runs)
        for d in districts
    ]
    row(
        "district dashboard_data, steady state, median over 12 districts",
        statistics.median(per_district),
        300,
    )
    row("district dashboard_data, steady state, slowest district", max(per_district), 300)
    pages = [timed(lambda d=d: page(f"/analytics/?node={d.code}"), 3) for d in districts[:4]]
    row("district page GET /analytics/?node=…, median of 4", statistics.median(pages), 300)

    start = today - __import__("datetime").timedelta(days=59)

    def rt_districts():
        series = situation.child_series(node=city, start=start, end=today)
        return rt.rt_cori_many(
            series["counts"], si_mean=settings_cfg["si_mean"], si_sd=settings_cfg["si_sd"]
        )

    row("Rt 60 days × 12 districts (query + estimate)", timed(rt_districts, args.runs), 1000)
    counts = situation.child_series(node=city, start=start, end=today)["counts"]
    row(
        "  of which the estimate alone",
        timed(lambda: rt.rt_cori_many(counts, si_mean=4.0, si_sd=2.5), args.runs),
    )

    def rt_streets():
        out = []
        for d in districts:
            series = situation.child_series(node=d, start=start, end=today)
            out.append(series["counts"])
        import numpy as np

        return rt.rt_cori_many(np.vstack(out), si_mean=4.0, si_sd=2.5)

    row("Rt 60 days × 144 streets (12 queries + one estimate)", timed(rt_streets, args.runs))
    row(
        "situation analysis of the city (curves, Rt, forecast, demand)",
        timed(lambda: situation.situation(node=city, today=today), args.runs),
    )
    if args.starts:
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        for warm in (False, True):
            firsts, seconds = first_requests(cookie, args.starts, warm=warm)
            how = "warmed by serve" if warm else "no warm-up (--no-warmup)"
            log(f"  fresh serve, {how}: first {firsts}, second {seconds}")
            row(f"fresh `serve`, {how}: first GET /analytics/", statistics.median(firsts))
            row(f"fresh `serve`, {how}: second GET /analytics/", statistics.median(seconds))
    print("| step | median (ms) | target (ms) |")
    print("| --- | ---: | ---: |")
    for name, ms, target in results:
        print(f"| {name} | {ms:.1f} | {target or '—'} |")


if __name__ == "__main__":
    main()
