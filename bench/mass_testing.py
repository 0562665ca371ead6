"""Benchmark of one mass-testing round on PostgreSQL: samples, results, statuses, HQ page, scanner API.

    .venv/bin/python bench/mass_testing.py [--population 10000000] [--runs 3] [--skip-load]
        [--load-only] [--workers 5]

Builds the synthetic city with `fangkong synth --population N --seed 2022 --reset` (real Nanjing
districts, grids of 300-500 households, valid ID numbers) unless the database already holds N
people, writes a sample file of everyone in tubes of 10 over 24 hours and a result file with
0.05% positive pools, then times the CLI end to end for each run (process start to exit):
round-create, import-samples, import-results, export-status. It also times the HQ round page in
process, and, unless --skip-load, drives the scanner API at a fixed rate over loopback against
`fangkong serve` (gunicorn, production settings), from a separate client process with threads
(open loop: latency counts from the scheduled send time, so queueing is not hidden).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import round_files  # bench/round_files.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DB = os.environ.get("FK_BENCH_DB", "fkp_bench")
assert DB.startswith("fkp_bench"), DB  # the only databases this bench may touch
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
ENV = {
    **os.environ,
    "FANGKONG_DATABASE_URL": URL,
    "DJANGO_SETTINGS_MODULE": "config.settings.test",
}
FANGKONG = [str(ROOT / ".venv" / "bin" / "fangkong")]
SERVER_THREADS = int(os.environ.get("FK_BENCH_SERVER_THREADS", "1"))  # >1: gthread, keep-alive
TESTING_TABLES = [
    "testing_turnaroundstat",
    "testing_gridstat",
    "testing_positivefinding",
    "testing_temporarycontrol",
    "testing_recheck",
    "testing_sample",
    "testing_tube",
    "testing_box",
    "testing_rotationslot",
    "testing_exemption",
    "testing_roundscope",
    "testing_round",
    "testing_site_grids",
    "testing_site",
    "testing_lab",
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cli(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*FANGKONG, *args], env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"fangkong {' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout + done.stderr


def sql(statement: str, params=None):
    import psycopg

    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def build_city(population: int) -> None:
    have = sql("SELECT count(*) FROM people_person")[0][0]
    if have == population:
        log(f"city of {population:,} people already there")
        return
    log(f"building a city of {population:,} people with fangkong synth")
    sql("TRUNCATE " + ", ".join(TESTING_TABLES) + ", authtoken_token CASCADE")
    sql("DELETE FROM accounts_user WHERE username LIKE 'bench-%%'")
    started = time.perf_counter()
    elapsed, _ = cli("synth", "--population", str(population), "--seed", "2022", "--reset")
    log(f"  synth in {elapsed:.0f} s")
    sql("VACUUM ANALYZE people_person")
    log(f"  analysed after {time.perf_counter() - started:.0f} s")


def write_files(population: int) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    samples, results = (
        OUT / f"samples-{DB}-{population}.csv",
        OUT / f"results-{DB}-{population}.csv",
    )
    if samples.exists() and results.exists():
        return samples, results
    log("writing the sample and result files")
    round_files.write(URL, samples, results, population)
    return samples, results


def one_run(samples: Path, results: Path, code: str) -> dict:
    sql("TRUNCATE " + ", ".join(TESTING_TABLES) + " CASCADE")
    sql("DELETE FROM common_alert WHERE kind IN ('pool_positive', 'person_positive')")
    times = {}
    times["round_create"], _ = cli(
        "testing", "round-create", "--code", code, "--name", "bench", "--scope", "320100"
    )
    times["import_samples"], out = cli(
        "testing", "-v", "2", "import-samples", "--round", code, str(samples)
    )
    log("  " + out.strip().replace("\n", "\n  "))
    times["import_results"], out = cli("testing", "-v", "2", "import-results", str(results))
    log("  " + out.strip().replace("\n", "\n  "))
    for line in out.splitlines():
        if line.startswith("timing outcomes:"):
            times["positive_pools_to_worklist"] = float(line.split()[2])
    status_file = OUT / "status.csv"
    times["export_status"], out = cli(
        "testing", "export-status", "--round", code, "--out", str(status_file)
    )
    log("  " + out.strip())
    times["round_total"] = (
        times["import_samples"] + times["import_results"] + times["export_status"]
    )
    counts = sql(
        "SELECT count(*) FILTER (WHERE reason = 'positive_pool'), count(DISTINCT source_tube_id) FROM testing_recheck"
    )[0]
    times["rechecks"], times["positive_pools"] = counts
    return times


def django_setup():
    os.environ.update(
        {"FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    )
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def hq_page(code: str, tries: int = 7) -> list[float]:
    from django.test import Client

    from fangkong.accounts.models import User
    from fangkong.geo.models import Jurisdiction

    user, _ = User.objects.get_or_create(
        username="bench-commander",
        defaults={"role": "commander", "jurisdiction": Jurisdiction.objects.get(code="320100")},
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    timings = []
    for _ in range(tries):
        started = time.perf_counter()
        response = client.get(f"/testing/rounds/{code}/")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return timings


def outcomes(code: str, pools: int, tries: int = 3) -> float:
    """Median seconds from `pools` positive pools (10 people each) to their people under control,
    on the re-check worklist, their grids alerted and the events sent: `pools` negative tubes of
    the round turned positive inside a transaction that is rolled back after each try."""
    from django.db import connection, transaction

    from fangkong.testing import bulk

    timings = []
    for k in range(tries):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE fk_bench_hot ON COMMIT DROP AS SELECT t.id AS tube_id "
                    "FROM testing_tube t JOIN testing_round r ON r.id = t.round_id "
                    "WHERE r.code = %s AND t.result = 'negative' ORDER BY t.id OFFSET %s LIMIT %s",
                    [code, 7 + k * pools, pools],
                )
                cursor.execute(
                    "UPDATE testing_tube SET result = 'positive' "
                    "WHERE id IN (SELECT tube_id FROM fk_bench_hot)"
                )
                cursor.execute("ANALYZE fk_bench_hot")
            started = time.perf_counter()
            effects = bulk.apply_results("fk_bench_hot")
            timings.append(time.perf_counter() - started)
            assert effects["positive_pools"] == pools, effects
            transaction.set_rollback(True)
    log(f"  {pools} positive pools → worklist: {', '.join(f'{t:.3f}' for t in timings)} s")
    return round(statistics.median(timings), 3)


def wrk_test(code: str, seconds: int, workers: int, connections: int, desks: int = 64) -> dict:
    """Closed loop with wrk (C, one process, two threads): as many scans as `connections`
    clients that each wait for their answer can send; latency includes queueing at the server."""
    token, round_code, site_code, people = _load_fixture(code, 60_000)
    ids = OUT / "scan-ids.txt"
    ids.write_text("\n".join(people) + "\n")
    with _server(workers) as port:
        done = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{connections}",
                f"-d{seconds}s",
                "--timeout",
                "5s",
                "-s",
                str(ROOT / "bench" / "scan.lua"),
                f"http://127.0.0.1:{port}",
                "--",
                str(ids),
                token,
                round_code,
                site_code,
                f"W{int(time.time()) % 100000}",
                "2",
                str(desks),
            ],
            capture_output=True,
            text=True,
        )
    if done.returncode:
        raise SystemExit(f"wrk exited {done.returncode}: {done.stderr or done.stdout}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["per_s"] = round(result["requests"] / result["seconds"], 1)
    result["connections"], result["workers"] = connections, workers
    return result


def _load_fixture(code: str, n: int) -> tuple[str, str, str, list[str]]:
    from rest_framework.authtoken.models import Token

    from fangkong.accounts.models import User
    from fangkong.geo.models import Jurisdiction
    from fangkong.testing.models import Round, RoundScope, Site

    city = Jurisdiction.objects.get(code="320100")
    sampler, _ = User.objects.get_or_create(
        username="bench-sampler", defaults={"role": "sampler", "jurisdiction": city}
    )
    token = Token.objects.get_or_create(user=sampler)[0].key
    round_, created = Round.objects.get_or_create(
        code=code, defaults={"name": "load", "pool_size": 10}
    )
    if created:
        RoundScope.objects.create(round=round_, jurisdiction=city, path=city.path)
    site, _ = Site.objects.get_or_create(
        code="LOADSITE", defaults={"name": "load", "jurisdiction": city, "jpath": city.path}
    )
    numbers = [
        n for (n,) in sql(f"SELECT document_number FROM people_person ORDER BY id LIMIT {n}")
    ]
    return token, round_.code, site.code, numbers


class _server:
    """`fangkong serve` (gunicorn, production settings) on a loopback port, until the block ends."""

    def __init__(self, workers: int, port: int = 8765):
        self.workers, self.port = workers, port

    def __enter__(self) -> int:
        self.process = subprocess.Popen(
            [
                *FANGKONG,
                "serve",
                "--workers",
                str(self.workers),
                "--threads",
                str(SERVER_THREADS),
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            env={
                **ENV,
                "DJANGO_SETTINGS_MODULE": "config.settings.prod",
                "FANGKONG_SECRET_KEY": secrets.token_urlsafe(50),
                "FANGKONG_SECURE_COOKIES": "0",
            },
            stdout=subprocess.DEVNULL,
            stderr=open(OUT / "serve.log", "w"),  # noqa: SIM115 (closed with the process)
        )
        # Until the workers answer: `serve` warms the application before it binds the port,
        # which under load takes tens of seconds.
        deadline = time.monotonic() + 180
        while True:
            time.sleep(0.2)
            try:
                probe = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                probe.request("GET", "/api/v1/")
                probe.getresponse().read()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    tail = (OUT / "serve.log").read_text()[-2000:]
                    raise SystemExit(
                        f"fangkong serve did not answer on port {self.port}:\n{tail}"
                    ) from None
        time.sleep(1)
        return self.port

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait()


def load_test(code: str, rate: int, seconds: int, workers: int, threads: int) -> dict:
    """Open loop at a fixed rate from Python threads: latency counts from each scan's scheduled
    send time, so a server that falls behind cannot hide it."""
    total = rate * seconds
    token, round_code, site_code, numbers = _load_fixture(code, total)
    prefix = f"L{int(time.time()) % 100000}"
    with _server(workers) as port:
        latencies, service, errors = [], [], []
        lock = threading.Lock()
        start = time.perf_counter() + 0.5

        def worker(k: int):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
            # Thread k owns whole tubes, so each tube's ten scans arrive in order, as from one desk.
            for i in range(k * 10, total, threads * 10):
                for j in range(i, min(i + 10, total)):
                    due = start + j / rate
                    delay = due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    sent = time.perf_counter()
                    body = json.dumps(
                        {
                            "round": round_code,
                            "site": site_code,
                            "barcode": f"{prefix}{j // 10:08d}",
                            "code": numbers[j],
                        }
                    )
                    try:
                        conn.request("POST", "/api/v1/testing/tubes/scan/", body, headers)
                        response = conn.getresponse()
                        response.read()
                        ok = response.status in (200, 201)
                    except OSError as exc:
                        ok = False
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                        response = exc
                    done = time.perf_counter()
                    with lock:
                        latencies.append(done - due)
                        service.append(done - sent)
                        if not ok:
                            errors.append(getattr(response, "status", str(response)))

        clients = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for w in clients:
            w.start()
        for w in clients:
            w.join()
        wall = time.perf_counter() - start
    latencies.sort()
    service.sort()

    def pct(values, p):
        return values[min(len(values) - 1, int(p * len(values)))] * 1000

    return {
        "requests": total,
        "achieved_per_s": round(total / wall, 1),
        "errors": len(errors),
        "p50_ms": round(pct(latencies, 0.5), 1),
        "p95_ms": round(pct(latencies, 0.95), 1),
        "p99_ms": round(pct(latencies, 0.99), 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "service_p50_ms": round(pct(service, 0.5), 1),
        "service_p99_ms": round(pct(service, 0.99), 1),
        "first_errors": errors[:5],
    }


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_ticks() -> tuple[int, int]:
    """(all, stolen) CPU ticks so far: on a shared virtual machine the hypervisor may take a large
    share of both cores under load, which no change of ours can win back; the report says how much."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return sum(values), values[7] if len(values) > 7 else 0


def stolen(since: tuple[int, int]) -> str:
    total, steal = _cpu_ticks()
    return f"{100 * (steal - since[1]) / max(total - since[0], 1):.0f}%"


def scanner(args) -> dict:
    django_setup()
    stamp = int(time.time()) % 100000
    out = {}
    # This machine's PostgreSQL runs with autovacuum off: without this, every run's dead tube
    # versions stay, and each load test ran slower than the last (389 -> 54 scans/s here).
    for table in ("testing_tube", "testing_gridstat"):
        sql(f"VACUUM (ANALYZE) {table}")
    if shutil.which("wrk"):
        ticks = _cpu_ticks()
        out["wrk"] = wrk_test(f"W{stamp}", args.seconds, args.workers, args.connections)
        out["wrk"]["load"], out["wrk"]["cpu_stolen"] = loadavg(), stolen(ticks)
    else:
        log("wrk not installed (apt-get install wrk): closed-loop run skipped")
    ticks = _cpu_ticks()
    out["open_loop"] = load_test(f"L{stamp}", args.rate, args.seconds, args.workers, args.threads)
    out["open_loop"]["load"], out["open_loop"]["cpu_stolen"] = loadavg(), stolen(ticks)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--rate", type=int, default=300, help="open-loop scans per second")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--load-only", action="store_true", help="only the scanner load tests (city must exist)"
    )
    parser.add_argument("--threads", type=int, default=16, help="open-loop client threads")
    args = parser.parse_args()

    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], capture_output=True)
    subprocess.run([*FANGKONG, "migrate", "-v", "0"], env=ENV, check=True)
    if args.load_only:
        print(json.dumps({"scanner": scanner(args)}, indent=2))
        return
    build_city(args.population)
    samples, results = write_files(args.population)
    runs = []
    for k in range(args.runs):
        log(f"run {k + 1}/{args.runs} (load {loadavg()})")
        ticks = _cpu_ticks()
        runs.append(one_run(samples, results, f"B{k}"))
        runs[-1]["load"], runs[-1]["cpu_stolen"] = loadavg(), stolen(ticks)
        log("  " + json.dumps(runs[-1]))
    summary = {
        key: round(statistics.median(r[key] for r in runs), 3)
        for key in runs[0]
        if key not in ("load", "cpu_stolen")
    }
    django_setup()
    pages = hq_page(f"B{args.runs - 1}")
    summary["hq_page_first_s"] = round(pages[0], 3)
    summary["hq_page_median_s"] = round(statistics.median(pages[1:]), 3)
    summary["hq_page_load"] = loadavg()
    summary["outcomes_2000_pools_s"] = outcomes(f"B{args.runs - 1}", 2000)
    if not args.skip_load:
        summary["scanner"] = scanner(args)
    print(
        json.dumps(
            {"population": args.population, "runs": len(runs), "median": summary, "all": runs},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
