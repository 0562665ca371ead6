"""Benchmark: every long list (page and API) under `fangkong serve` at 16 connections.

    .venv/bin/python bench/lists.py [--db fangkong_lists_x] [--population 10000000]
        [--seconds 20] [--runs 3] [--workers 4] [--connections 16] [--only people,cases]

The database (only `fangkong_lists*`) is a copy of the template `fangkong_city10m` when the
population is 10 million (CREATE DATABASE … TEMPLATE, then `fangkong migrate`), else a fresh
`fangkong synth` city of --population people (the smoke size: --population 2000 --seconds 2
--runs 1). On it, set-based SQL adds what a city in an outbreak holds, in proportion to the
population: cases (1 in 200), close contacts (1 in 20), control orders (1 in 30), a round's
tubes (1 in 10, 10-in-1 pools), tasks (1 in 1,000) and alerts (1 in 100), plus two users: the
HQ commander (the city) and a district's staff. Then for each list, each user and each depth
(the first page, and a page 20 pages deep reached by following the cursor links), a closed loop
of --connections client threads sends GETs for --seconds to `fangkong serve` (gunicorn,
production settings, port 8102); a list's further pages (EXTRA: the cases page's figures, the
daily-checks page, the alert groups) are timed at their first page. Prints JSON: p50/p99/req/s
per list and case, the median of the runs and every run, with the load average.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
FANGKONG = [str(ROOT / ".venv" / "bin" / "fangkong")]
PORT = 8102
PASSWORD = "bench-lists-2022"
TEMPLATE = "fangkong_city10m"

API = {
    "people": "/api/v1/people/",
    "cases": "/api/v1/tracing/cases/",
    "contacts": "/api/v1/tracing/contacts/",
    "orders": "/api/v1/control/orders/",
    "tubes": "/api/v1/testing/tubes/",
    "tasks": "/api/v1/command/tasks/",
    "alerts": "/api/v1/alerts/",
}
PAGES = {
    "people": "/people/",
    "cases": "/tracing/",
    "tasks": "/command/",
    "alerts": "/alerts/?status=all",
}
# Further pages of a list, first page only: the cases page's figures (the fragment htmx loads
# after the list: kept 60 s, and recomputed on every request with refresh=1), the orders'
# daily-checks page, the alert centre's default view (open alerts grouped by kind and node).
EXTRA = {
    "cases": [("figures", "/tracing/figures/"), ("figures-fresh", "/tracing/figures/?refresh=1")],
    "orders": [("checks-page", "/control/checks/")],
    "alerts": [("groups-page", "/alerts/")],
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Bench:
    def __init__(self, args):
        assert args.db.startswith("fangkong_lists"), "this bench only touches fangkong_lists*"
        self.args = args
        self.url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
        self.env = {
            **os.environ,
            "FANGKONG_DATABASE_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
        }

    def sql(self, statement: str, params=None, db: str | None = None):
        import psycopg

        url = self.url if db is None else f"postgres://postgres@127.0.0.1:5432/{db}"
        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(statement, params if params is not None else [])
            return cur.fetchall() if cur.description else None

    def cli(self, *args: str, settings: str = "config.settings.test") -> None:
        env = {**self.env, "DJANGO_SETTINGS_MODULE": settings}
        subprocess.run([*FANGKONG, *args], env=env, check=True, stdout=sys.stderr)

    def count(self, table: str) -> int:
        return self.sql(f"SELECT count(*) FROM {table}")[0][0]

    def prepare(self) -> None:
        a = self.args
        exists = self.sql("SELECT 1 FROM pg_database WHERE datname = %s", [a.db], db="postgres")
        if not exists:
            if a.population == 10_000_000:
                log(f"copying {TEMPLATE} to {a.db}")
                self.sql(f'CREATE DATABASE "{a.db}" TEMPLATE {TEMPLATE}', db="postgres")
            else:
                self.sql(f'CREATE DATABASE "{a.db}"', db="postgres")
        self.cli("migrate", "-v", "0")
        if self.count("people_person") != a.population:
            if a.population == 10_000_000:
                raise SystemExit(f"{a.db} does not hold the 10-million city; drop it and rerun")
            log(f"building a city of {a.population:,} people (fangkong synth)")
            self.cli("synth", "--population", str(a.population), "--seed", "2022", "--reset")
        self.load(a.population)
        self.users()
        # What autovacuum (off on this machine) would have done after the load.
        for table in (
            "tracing_case",
            "tracing_contact",
            "control_controlorder",
            "testing_tube",
            "command_task",
            "common_alert",
        ):
            self.sql(f"VACUUM ANALYZE {table}")
        self.sql("ANALYZE people_person")

    def load(self, n: int) -> None:
        """The outbreak's rows, set-based: people picked by a stride over the registry."""
        started = time.perf_counter()
        log("cases, contacts, orders")
        if self.count("control_controlorder") == 0:
            self.load_tracing()
        if self.count("testing_tube") == 0:
            self.load_tubes(n)
        if self.count("common_alert") == 0:
            self.load_alerts()
        log(f"loaded in {time.perf_counter() - started:.0f} s")

    def load_tracing(self) -> None:
        self.sql(
            """
            INSERT INTO tracing_case (jpath, code, classification, severity, found_by,
              under_control_when_found, reported_at, report_date, source_tube, notes, created_at,
              updated_at, person_id, window_edited)
            SELECT p.jpath, 'BC' || lpad(p.id::text, 9, '0'),
                   (ARRAY['confirmed','asymptomatic'])[1 + p.id %% 2], '', 'screening',
                   p.id %% 3 = 0, now() - (p.id %% 1209600) * interval '1 second',
                   (now() - (p.id %% 1209600) * interval '1 second')::date, '', '', now(), now(),
                   p.id, false
            FROM people_person p WHERE p.id %% 200 = 7
            """
        )
        self.sql(
            """
            INSERT INTO tracing_contact (jpath, kind, state, setting, last_exposure_at, origin,
              excluded_reason, note, created_at, updated_at, person_id)
            SELECT p.jpath, 'close', (ARRAY['pushed','verified','controlled'])[1 + p.id %% 3],
                   'household', now() - (p.id %% 604800) * interval '1 second', 'investigation',
                   '', '', now(), now(), p.id
            FROM people_person p WHERE p.id %% 20 = 3
            """
        )
        self.sql(
            """
            INSERT INTO control_controlorder (jpath, category, status, start, start_date, end_date,
              measure, reason, source, created_at, person_id, policy_id, self_report_version)
            SELECT p.jpath, 'close_contact', CASE WHEN p.id %% 4 = 0 THEN 'released' ELSE 'open' END,
                   now() - (p.id %% 864000) * interval '1 second',
                   (now() - (p.id %% 864000) * interval '1 second')::date,
                   (now() + interval '7 days')::date, 'home', '', 'tracing', now(), p.id,
                   (SELECT min(id) FROM control_policy), 0
            FROM people_person p WHERE p.id %% 30 = 11
            """
        )

    def load_tubes(self, n: int) -> None:
        log("a round's tubes")
        self.sql(
            """
            INSERT INTO testing_round (code, name, status, pool_size, pooling, target, created_at)
            VALUES ('R-LISTS', '全员核酸检测', 'open', 10, '{}', 'everyone', now())
            ON CONFLICT DO NOTHING
            """
        )
        self.sql(
            """
            INSERT INTO testing_site (code, name, kind, jurisdiction_id, jpath, address,
              opening_hours, desks, samplers)
            SELECT 'LS' || c.id, '采样点' || c.id, 'fixed', c.id, c.path, '', '', 4, 8
            FROM geo_jurisdiction c WHERE c.level = 'community'
            ON CONFLICT DO NOTHING
            """
        )
        self.sql(
            """
            INSERT INTO testing_tube (barcode, jpath, kind, subject, capacity, members, status,
              result, subject_label, round_id, site_id, sampled_at)
            SELECT 'LT' || lpad(i::text, 10, '0'), s.jpath, 'pool', 'person', 10, 10,
                   'sampled', '', '', r.id, s.id, now() - (i %% 86400) * interval '1 second'
            FROM generate_series(1, %s) i
            JOIN testing_round r ON r.code = 'R-LISTS'
            JOIN (SELECT id, jpath, row_number() OVER (ORDER BY jpath, id) - 1 AS k,
                         count(*) OVER () AS n FROM testing_site) s
              ON s.k = (i::bigint * 7919) %% s.n
            """,
            [max(n // 10, 10)],
        )

    def load_alerts(self) -> None:
        log("alerts")
        self.sql(
            """
            INSERT INTO common_alert (kind, level, title, body, jurisdiction_path, object_type,
              object_id, created_at, acknowledged_at, dedupe_key)
            SELECT 'control_missed', 'warning', '漏报健康监测 ' || p.id, '', p.jpath,
                   'control.order', p.id::text, now() - (p.id %% 604800) * interval '1 second',
                   CASE WHEN p.id %% 3 = 0 THEN now() END, 'bench-lists-' || p.id
            FROM people_person p WHERE p.id %% 100 = 5
            """
        )

    def users(self) -> None:
        script = f"""
from fangkong.accounts.models import User
from fangkong.geo.models import Jurisdiction
city = Jurisdiction.objects.filter(level="city").order_by("path").first()
district = Jurisdiction.objects.filter(level="district").order_by("path").first()
for name, role, node in (("bench_lists_hq", "commander", city),
                         ("bench_lists_district", "commander", district)):
    user, _ = User.objects.get_or_create(username=name, defaults={{"role": role}})
    user.role, user.jurisdiction = role, node
    user.set_password({PASSWORD!r})
    user.save()
"""
        # The dev settings hash as production does (the test settings' fast hasher would not
        # let the served site check the password).
        self.cli("shell", "-c", script, settings="config.settings.dev")
        if self.count("command_task") == 0:
            self.load_tasks()

    def load_tasks(self) -> None:
        self.sql(
            """
            INSERT INTO command_task (title, description, deadline, priority, state, percent,
              dispatcher_path, assignee_path, escalation_level, created_at, dispatcher_id,
              assignee_node_id)
            SELECT '任务' || i, '', now() + (i %% 96 - 24) * interval '1 hour', 'normal', 'open', 0,
                   c.path, g.path, 0, now(), u.id, g.id
            FROM generate_series(1, %s) i
            JOIN (SELECT id, path, row_number() OVER (ORDER BY path) - 1 AS k,
                         count(*) OVER () AS n FROM geo_jurisdiction WHERE level = 'grid') g
              ON g.k = (i * 31) %% g.n
            CROSS JOIN (SELECT path FROM geo_jurisdiction WHERE level = 'city' LIMIT 1) c
            CROSS JOIN (SELECT id FROM accounts_user WHERE username = 'bench_lists_hq') u
            """,
            [max(self.args.population // 1000, 10)],
        )

    def serve(self):
        process = subprocess.Popen(
            [
                *FANGKONG,
                "serve",
                "--workers",
                str(self.args.workers),
                "--bind",
                f"127.0.0.1:{PORT}",
            ],
            env={
                **self.env,
                "DJANGO_SETTINGS_MODULE": "config.settings.prod",
                "FANGKONG_SECRET_KEY": secrets.token_urlsafe(50),
                "FANGKONG_SECURE_COOKIES": "0",
                "FANGKONG_SSL_REDIRECT": "0",
                "FANGKONG_DASHBOARD_CACHE_SECONDS": "0",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(150):
            time.sleep(0.2)
            try:
                probe = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
                probe.request("GET", "/login/")
                probe.getresponse().read()
                return process
            except OSError:
                if process.poll() is not None:
                    raise SystemExit("fangkong serve did not start") from None
        process.terminate()
        raise SystemExit("fangkong serve did not answer within 30 s")


def login(username: str) -> tuple[dict, dict]:
    """(API headers with a token, page headers with a session cookie) for the user."""
    import requests

    base = f"http://127.0.0.1:{PORT}"
    answer = requests.post(
        f"{base}/api/v1/auth/token/", json={"username": username, "password": PASSWORD}
    )
    if answer.status_code != 200:
        raise SystemExit(f"login of {username}: {answer.status_code} {answer.text[:300]}")
    token = answer.json()["token"]
    session = requests.Session()
    form = session.get(f"{base}/login/").text
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    session.post(
        f"{base}/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
        headers={"Referer": f"{base}/login/"},
    )
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    return {"Authorization": f"Token {token}"}, {"Cookie": cookie}


def deep_url(url: str, headers: dict, depth: int, api: bool) -> str:
    """The URL `depth` pages in, reached by following the next links as a reader would."""
    for _ in range(depth):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        conn.request("GET", url, headers=headers)
        body = conn.getresponse().read().decode()
        if api:
            link = json.loads(body)["next"]
            if not link:
                break
            parts = urlsplit(link)
            url = f"{parts.path}?{parts.query}"
        else:
            found = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="next"', body)
            if not found:
                break
            url = url.split("?")[0] + found.group(1).replace("&amp;", "&")
    return url


def load(url: str, headers: dict, seconds: float, connections: int) -> dict:
    latencies, errors = [], []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        while time.perf_counter() < stop:
            sent = time.perf_counter()
            try:
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                outcome = response.status
            except OSError as exc:
                ok, outcome = False, str(exc)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            with lock:
                latencies.append(time.perf_counter() - sent)
                if not ok:
                    errors.append(outcome)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {
        "requests": len(latencies),
        "per_s": round(len(latencies) / wall, 1),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="fangkong_lists_x")
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--depth", type=int, default=20, help="pages in for the deep case")
    parser.add_argument("--only", default="", help="comma-separated lists (default: all)")
    parser.add_argument("--prepare-only", action="store_true")
    args = parser.parse_args()
    bench = Bench(args)
    bench.prepare()
    if args.prepare_only:
        return
    only = set(filter(None, args.only.split(",")))
    server = bench.serve()
    results: dict[str, list] = {}
    try:
        users = {
            "hq": login("bench_lists_hq"),
            "district": login("bench_lists_district"),
        }
        cases = []
        for name in API:
            if only and name not in only:
                continue
            for user, (api_headers, page_headers) in users.items():
                for kind, url, headers in (
                    ("api", API[name], api_headers),
                    ("page", PAGES.get(name), page_headers),
                ):
                    if url is None:
                        continue
                    for depth in (0, args.depth):
                        target = deep_url(url, headers, depth, kind == "api") if depth else url
                        cases.append((f"{name} {kind} {user} page{depth + 1}", target, headers))
                for kind, url in EXTRA.get(name, []):
                    cases.append((f"{name} {kind} {user} page1", url, page_headers))
        for k in range(args.runs):
            log(f"run {k + 1}/{args.runs} (load {loadavg()})")
            for label, url, headers in cases:
                figures = load(url, headers, args.seconds, args.connections)
                figures["load"] = loadavg()
                results.setdefault(label, []).append(figures)
                log(f"  {label}: {json.dumps(figures)}")
    finally:
        server.terminate()
        server.wait()
    summary = {
        label: {
            key: statistics.median(r[key] for r in runs) for key in ("per_s", "p50_ms", "p99_ms")
        }
        | {"errors": sum(r["errors"] for r in runs)}
        for label, runs in results.items()
    }
    print(json.dumps({"args": vars(args), "median": summary, "runs": results}, indent=2))


if __name__ == "__main__":
    main()
