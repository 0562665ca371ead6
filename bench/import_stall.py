"""Issue 15: the scanner API while a lab imports, and a 10-million round beside its bare reference.

    .venv/bin/python bench/import_stall.py round  [--runs 1] [--tuned]
    .venv/bin/python bench/import_stall.py stall  [--rate 300] [--workers 4] [--threads 16]
    .venv/bin/python bench/import_stall.py files

Database: FK_BENCH_DB (default fangkong_imports_x, the only databases it touches start with
fangkong_imports), a copy of the 10-million synthetic city (`CREATE DATABASE … TEMPLATE
fangkong_city10m`). `files` writes the round's two CSV files as bench/mass_testing.py does
(everyone in tubes of ten; a million results with 0.05 % positive pools).

`round`: per run, the testing tables emptied, then `round-create`, `import-samples` (10 M rows),
`import-results` (1 M), `export-status`, each timed from process start to exit as an operator
runs them; then in the same run the reference: the same ten million swabs (read back from the
table into a binary file first, not timed) by one bare `COPY` into a table without indexes, plus
the builds of the sample table's four indexes — the least any load of these rows can cost here.
`--tuned` runs with the settings of docs/operations.md set by ALTER SYSTEM for the run and reset
after (only reloadable ones: the server is shared and is not restarted).

`stall`: the scanner API (`fangkong serve`, gunicorn, production settings, token auth, 64 desks
filling tubes of ten) at a fixed rate, open loop (latency counts from each scan's scheduled send
time): first with nothing else running, then again while `import-samples` of ten million rows and
`import-results` of a million run one after the other. The desks scan a round of their own: the
locks in question were whole-table locks, so any round shows them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import round_files  # bench/round_files.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DB = os.environ.get("FK_BENCH_DB", "fangkong_imports_x")
assert DB.startswith("fangkong_imports"), DB  # the only databases this bench may touch
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
ENV = {**os.environ, "FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
FANGKONG = [str(ROOT / ".venv" / "bin" / "fangkong")]
PORT = 8766
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
# A city deployment's settings (docs/operations.md), the reloadable ones.
TUNED = {
    "max_wal_size": "16GB",
    "min_wal_size": "2GB",
    "checkpoint_timeout": "30min",
    "checkpoint_completion_target": "0.9",
    "wal_compression": "on",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def sql(statement: str, params=None):
    import psycopg

    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def cli(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*FANGKONG, *args], env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"fangkong {' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout + done.stderr


def timed_cli(*args: str) -> tuple[float, str, int]:
    """As cli, with the child's peak RSS in kB (GNU time)."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS %M", *FANGKONG, *args],
        env=ENV,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"fangkong {' '.join(args)} failed:\n{done.stderr}")
    rss = next(int(x.split()[1]) for x in done.stderr.splitlines() if x.startswith("MAXRSS"))
    return elapsed, done.stdout + done.stderr, rss


def files() -> tuple[Path, Path]:
    population = sql("SELECT count(*) FROM people_person")[0][0]
    OUT.mkdir(parents=True, exist_ok=True)
    samples, results = OUT / f"samples-{DB}.csv", OUT / f"results-{DB}.csv"
    if samples.exists() and results.exists():
        return samples, results
    log(f"writing the sample and result files for {population:,} people")
    round_files.write(URL, samples, results, population)
    return samples, results


def empty_round_tables() -> None:
    sql("TRUNCATE " + ", ".join(TESTING_TABLES) + " CASCADE")
    sql("DELETE FROM common_alert WHERE kind IN ('pool_positive', 'person_positive')")
    # This machine's PostgreSQL runs with autovacuum off.
    sql("VACUUM ANALYZE testing_tube")
    sql("CHECKPOINT")


def one_round(samples: Path, results: Path, code: str) -> dict:
    empty_round_tables()
    times = {"load_start": loadavg()}
    times["round_create"], _ = cli(
        "testing", "round-create", "--code", code, "--name", "bench", "--scope", "320100"
    )
    wal = sql("SELECT pg_current_wal_lsn()")[0][0]
    times["import_samples"], out, times["samples_rss_kb"] = timed_cli(
        "testing", "-v", "2", "import-samples", "--round", code, str(samples)
    )
    log("  " + out.strip().replace("\n", "\n  "))
    times["import_results"], out, times["results_rss_kb"] = timed_cli(
        "testing", "-v", "2", "import-results", str(results)
    )
    log("  " + out.strip().replace("\n", "\n  "))
    times["export_status"], out = cli(
        "testing", "export-status", "--round", code, "--out", str(OUT / "status.csv")
    )
    times["round_total"] = round(
        times["import_samples"] + times["import_results"] + times["export_status"], 2
    )
    times["wal_gb"] = round(
        float(sql("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal])[0][0]) / 2**30, 2
    )
    times["swabs"] = sql("SELECT count(*) FROM testing_sample")[0][0]
    times["reference"] = reference()
    times["ratio"] = round(times["round_total"] / times["reference"]["total"], 2)
    times["load_end"] = loadavg()
    return times


INDEXES = [
    "ALTER TABLE fk_ref_sample ADD PRIMARY KEY (id)",
    "CREATE UNIQUE INDEX fk_ref_tube_person ON fk_ref_sample (tube_id, person_id)",
    "CREATE UNIQUE INDEX fk_ref_one_open ON fk_ref_sample (round_id, person_id) WHERE tube_open",
    "CREATE INDEX fk_ref_person_round ON fk_ref_sample (person_id, round_id)",
]


def reference() -> dict:
    """The bare reference: the round's swabs by one COPY into a table without indexes, then the
    sample table's indexes built, as psql would do it (a client's binary COPY from a file)."""
    data = OUT / f"swabs-{DB}.bin"
    columns = "id, round_id, tube_id, person_id, sampled_at, kind, tube_open, scanned_by_id"
    subprocess.run(
        [
            "psql",
            "-q",
            URL,
            "-c",
            f"\\copy (SELECT {columns} FROM testing_sample) TO '{data}' (FORMAT binary)",
        ],
        check=True,
    )
    sql("DROP TABLE IF EXISTS fk_ref_sample")
    sql("CREATE TABLE fk_ref_sample (LIKE testing_sample INCLUDING DEFAULTS)")
    sql("CHECKPOINT")
    out = {}
    started = time.perf_counter()
    subprocess.run(
        [
            "psql",
            "-q",
            URL,
            "-c",
            f"\\copy fk_ref_sample ({columns}) FROM '{data}' (FORMAT binary)",
        ],
        check=True,
    )
    out["copy"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    script = "SET maintenance_work_mem = '1GB';\n" + ";\n".join(INDEXES) + ";\n"
    subprocess.run(["psql", "-q", URL, "-v", "ON_ERROR_STOP=1", "-c", script], check=True)
    out["indexes"] = round(time.perf_counter() - started, 2)
    out["total"] = round(out["copy"] + out["indexes"], 2)
    sql("DROP TABLE fk_ref_sample")
    data.unlink()
    return out


def set_tuned(on: bool) -> None:
    for name, value in TUNED.items():
        sql(f"ALTER SYSTEM SET {name} = '{value}'" if on else f"ALTER SYSTEM RESET {name}")
    sql("SELECT pg_reload_conf()")
    time.sleep(1)
    shown = {name: sql(f"SHOW {name}")[0][0] for name in TUNED}
    log(f"settings now: {shown}")


def cmd_round(args) -> dict:
    samples, results = files()
    runs = []
    if args.tuned:
        set_tuned(True)
    try:
        for k in range(args.runs):
            log(f"round run {k + 1}/{args.runs} (load {loadavg()}, tuned={args.tuned})")
            runs.append(one_round(samples, results, f"B{k}"))
            log("  " + json.dumps(runs[-1]))
    finally:
        if args.tuned:
            set_tuned(False)
    return {
        "tuned": TUNED if args.tuned else "defaults",
        "median_round_total": statistics.median(r["round_total"] for r in runs),
        "median_reference": statistics.median(r["reference"]["total"] for r in runs),
        "runs": runs,
    }


# ----------------------------------------------------------------------------- scanner


def django_setup():
    os.environ.update(
        {"FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    )
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def fixture(code: str, n: int) -> tuple[str, list[str]]:
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
    Site.objects.get_or_create(
        code="LOADSITE", defaults={"name": "load", "jurisdiction": city, "jpath": city.path}
    )
    # People from the end of the registry: the import's file names everyone, the desks' round is
    # its own, so nobody is in two open tubes.
    numbers = [
        x for (x,) in sql(f"SELECT document_number FROM people_person ORDER BY id DESC LIMIT {n}")
    ]
    return token, numbers


class Server:
    def __init__(self, workers: int):
        self.workers = workers

    def __enter__(self):
        self.process = subprocess.Popen(
            [*FANGKONG, "serve", "--workers", str(self.workers), "--bind", f"127.0.0.1:{PORT}"],
            env={
                **ENV,
                "DJANGO_SETTINGS_MODULE": "config.settings.prod",
                "FANGKONG_SECRET_KEY": "bench-only-not-secret-" + "x" * 40,
                "FANGKONG_SECURE_COOKIES": "0",
                "FANGKONG_SSL_REDIRECT": "0",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(150):
            time.sleep(0.2)
            try:
                probe = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
                probe.request("GET", "/api/v1/")
                probe.getresponse().read()
                break
            except OSError:
                continue
        time.sleep(1)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait()


def load(
    token: str,
    numbers: list[str],
    code: str,
    rate: int,
    seconds: float,
    threads: int,
    prefix: str,
    stop: threading.Event | None = None,
) -> dict:
    """Open loop at `rate` scans/s for `seconds` (or until `stop` is set, within `seconds`)."""
    total = int(rate * seconds)
    latencies, errors = [], []
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def worker(k: int):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        for i in range(k * 10, total, threads * 10):
            for j in range(i, min(i + 10, total)):
                if stop is not None and stop.is_set():
                    return
                due = start + j / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                body = json.dumps(
                    {
                        "round": code,
                        "site": "LOADSITE",
                        "barcode": f"{prefix}{j // 10:08d}",
                        "code": numbers[j],
                    }
                )
                try:
                    conn.request("POST", "/api/v1/testing/tubes/scan/", body, headers)
                    response = conn.getresponse()
                    response.read()
                    ok = response.status in (200, 201)
                    status = response.status
                except OSError as exc:
                    ok, status = False, str(exc)
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                done = time.perf_counter()
                with lock:
                    latencies.append((due - start, done - due))
                    if not ok:
                        errors.append(status)

    clients = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    wall = time.perf_counter() - start
    lat = sorted(x for _t, x in latencies)

    def pct(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1)

    # The worst second: where a stall would show.
    by_second: dict[int, list[float]] = {}
    for t, x in latencies:
        by_second.setdefault(int(t), []).append(x)
    worst = max(by_second.items(), key=lambda kv: max(kv[1]))
    return {
        "scans": len(lat),
        "achieved_per_s": round(len(lat) / wall, 1),
        "errors": len(errors),
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 1),
        "worst_second": worst[0],
        "first_errors": errors[:5],
    }


def cmd_stall(args) -> dict:
    samples, results = files()
    empty_round_tables()
    _t, _o = cli("testing", "round-create", "--code", "B0", "--name", "bench", "--scope", "320100")
    django_setup()
    stamp = int(time.time()) % 100000
    horizon = args.seconds_max
    token, numbers = fixture(f"D{stamp}", int(args.rate * (args.quiet_seconds + horizon)) + 10)
    out = {"rate": args.rate, "workers": args.workers, "threads": args.threads}
    with Server(args.workers):
        out["load_before"] = loadavg()
        out["without_imports"] = load(
            token, numbers, f"D{stamp}", args.rate, args.quiet_seconds, args.threads, f"Q{stamp}"
        )
        log(f"  without imports: {json.dumps(out['without_imports'])}")
        tail = numbers[int(args.rate * args.quiet_seconds) + 10 :]
        stop = threading.Event()
        imports: dict = {}

        def run_imports():
            time.sleep(2)  # the desks are scanning first
            imports["samples_started_s"] = 2
            imports["import_samples_s"], o1 = cli(
                "testing", "-v", "2", "import-samples", "--round", "B0", str(samples)
            )
            imports["import_results_s"], o2 = cli(
                "testing", "-v", "2", "import-results", str(results)
            )
            imports["samples_out"], imports["results_out"] = o1.strip()[-300:], o2.strip()[-300:]
            time.sleep(2)
            stop.set()

        runner = threading.Thread(target=run_imports)
        runner.start()
        out["during_imports"] = load(
            token, tail, f"D{stamp}", args.rate, horizon, args.threads, f"I{stamp}", stop
        )
        runner.join()
        out["imports"] = imports
        out["load_after"] = loadavg()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["round", "stall", "files"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tuned", action="store_true")
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--quiet-seconds", type=float, default=20)
    parser.add_argument(
        "--seconds-max", type=float, default=240, help="cap of the run during imports"
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--population",
        type=int,
        default=0,
        help="build a city of this size with fangkong synth when the database has none "
        "(the figures use a copy of a 10 M city; smoke runs use a tiny one)",
    )
    args = parser.parse_args()
    subprocess.run([*FANGKONG, "migrate", "-v", "0"], env=ENV, check=True)
    if args.population and not sql("SELECT count(*) FROM people_person")[0][0]:
        cli("synth", "--population", str(args.population), "--seed", "2022")
    if args.what == "files":
        print(json.dumps([str(p) for p in files()]))
        return
    result = cmd_round(args) if args.what == "round" else cmd_stall(args)
    result["machine"] = "2 cores, 24 GiB, PostgreSQL 15"
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
