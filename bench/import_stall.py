"""Issue 15: the scanner API while a lab imports, and a 10-million round beside its bare reference.

    .venv/bin/python bench/import_stall.py round  [--runs 1] [--tuned]
    .venv/bin/python bench/import_stall.py stall  [--rate 300] [--workers 4] [--connections 64]
                                                  [--nice 0,10] [--quiet-seconds 20] [--imports-alone]
    .venv/bin/python bench/import_stall.py files

Database: FK_BENCH_DB (default fangkong_imports_x, the only databases it touches start with
fangkong_imports or fangkong_stall), a copy of the 10-million synthetic city (`CREATE DATABASE … TEMPLATE
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
`import-results` of a million run one after the other, once per FANGKONG_IMPORT_NICE in `--nice`
(0: at normal priority; 10: the default, imports at background priority), each with the testing
tables emptied first. The desks scan a round of their own: the locks in question were
whole-table locks, so any round shows them. The client is one asyncio loop in this process
(its CPU is reported); per phase also the machine's CPU from /proc/stat (its "nice" column is
the reniced import) and what the database's active backends wait on, sampled 5 times a second.
`--imports-alone`: the two imports without the scanner, at each niceness, timed.
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
# The only databases this bench may touch (the lanes: imports, stall).
assert DB.startswith(("fangkong_imports", "fangkong_stall", "fangkong_desk")), DB
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


class Client:
    """The desks' load, cheap for the machine it shares: one asyncio loop in this process, every
    request encoded before the clock starts, sockets kept alive when the server allows it (the
    sync workers of `fangkong serve` close each one). Open loop: scan j is due at start + j/rate
    whatever happened before it, at most `connections` are in flight (the rest wait in this
    process, their wait counted), and a scan's latency runs from its due time to the end of its
    response."""

    def __init__(self, requests: list[bytes], rate: float, connections: int):
        self.requests, self.rate, self.connections = requests, rate, connections
        self.idle: list = []
        self.reconnects = 0

    async def _send(self, payload: bytes) -> int:
        import asyncio

        for attempt in (0, 1):
            if self.idle:
                reader, writer = self.idle.pop()
                fresh = False
            else:
                reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                self.reconnects += 1
                fresh = True
            try:
                writer.write(payload)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                lowered = head.lower()
                at = lowered.find(b"content-length:")
                if at >= 0:
                    length = int(lowered[at + 15 : lowered.index(b"\r\n", at)])
                    await reader.readexactly(length)
                else:
                    await reader.read()
                if b"connection: close" in lowered or at < 0:
                    writer.close()
                else:
                    self.idle.append((reader, writer))
                return status
            except (OSError, asyncio.IncompleteReadError):
                writer.close()
                if fresh or attempt:  # a kept socket the server had closed: once more, fresh
                    raise
        raise AssertionError("unreachable")

    def run(self, stop: threading.Event | None, seconds: float) -> tuple[list, list, float]:
        import asyncio

        latencies: list[tuple[float, float]] = []
        errors: list = []

        async def main():
            gate = asyncio.Semaphore(self.connections)
            loop = asyncio.get_running_loop()
            start = loop.time() + 0.5
            tasks = []

            async def one(j: int, due: float):
                async with gate:
                    try:
                        status = await asyncio.wait_for(self._send(self.requests[j]), 120)
                        ok = status in (200, 201)
                    except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                        status, ok = repr(exc)[:80], False
                latencies.append((due - start, loop.time() - due))
                if not ok:
                    errors.append(status)

            for j in range(len(self.requests)):
                due = start + j / self.rate
                if due - start > seconds or (stop is not None and stop.is_set()):
                    break
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(one(j, due)))
            await asyncio.gather(*tasks)
            for _reader, writer in self.idle:
                writer.close()
            return loop.time() - start

        wall = asyncio.run(main())
        return latencies, errors, wall


def scan_requests(token: str, numbers: list[str], code: str, prefix: str, n: int) -> list[bytes]:
    """The desks' scans as bytes on the wire: tubes of ten, one person each scan."""
    out = []
    for j in range(n):
        body = json.dumps(
            {
                "round": code,
                "site": "LOADSITE",
                "barcode": f"{prefix}{j // 10:08d}",
                "code": numbers[j],
            }
        ).encode()
        out.append(
            b"POST /api/v1/testing/tubes/scan/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Token {token}\r\nContent-Type: application/json\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return out


def load(
    token: str,
    numbers: list[str],
    code: str,
    rate: int,
    seconds: float,
    connections: int,
    prefix: str,
    stop: threading.Event | None = None,
) -> dict:
    """Open loop at `rate` scans/s for `seconds` (or until `stop` is set, within `seconds`)."""
    import resource

    total = min(int(rate * seconds), len(numbers))
    machine = cpu_times()
    client = Client(scan_requests(token, numbers, code, prefix, total), rate, connections)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    latencies, errors, wall = client.run(stop, seconds)
    used = resource.getrusage(resource.RUSAGE_SELF)
    machine = {k: round(v - machine[k], 1) for k, v in cpu_times().items()}
    cpu_s = used.ru_utime - cpu.ru_utime + used.ru_stime - cpu.ru_stime
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
        # The client's own CPU (this process, the imports' runner thread only waits).
        "client_cpu_s": round(cpu_s, 2),
        "client_cpu_pct_of_one_core": round(100 * cpu_s / wall, 1),
        "connections_opened": client.reconnects,
        # The whole machine over the phase (/proc/stat, CPU seconds of both cores): "nice" is
        # the time of processes at a niceness above 0, i.e. a reniced import and its backends.
        "machine_cpu_s": machine,
        "cpu_ms_per_scan_not_niced": round(
            1000 * (machine["user"] + machine["system"]) / max(len(lat), 1), 2
        ),
    }


def cpu_times() -> dict[str, float]:
    with open("/proc/stat") as handle:
        fields = handle.readline().split()[1:9]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) / 100 for x in fields)
    return {
        "user": user,
        "nice": nice,
        "system": system + irq + softirq + steal,
        "idle": idle,
        "iowait": iowait,
    }


def run_imports(samples: Path, results: Path, nice: int) -> dict:
    """import-samples then import-results, each timed from process start to exit, at the
    given FANGKONG_IMPORT_NICE; with the CPU seconds the two processes used."""
    import resource

    env = {**ENV, "FANGKONG_IMPORT_NICE": str(nice)}
    out = {"nice": nice}
    for name, args in (
        ("import_samples", ["import-samples", "--round", "B0", str(samples)]),
        ("import_results", ["import-results", str(results)]),
    ):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [*FANGKONG, "testing", "-v", "2", *args], env=env, capture_output=True, text=True
        )
        out[name + "_s"] = round(time.perf_counter() - started, 2)
        if done.returncode:
            raise SystemExit(f"fangkong {' '.join(args)} failed:\n{done.stderr}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out[name + "_cpu_s"] = round(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 2
        )
        said = done.stdout + done.stderr
        out[name + "_priority"] = next(
            (x for x in said.splitlines() if x.startswith("priority:")), None
        )
        out[name + "_out"] = said.strip()[-300:]
    return out


class Waits:
    """What the database's active backends wait on, sampled five times a second during a phase:
    a desk's statement seen waiting on a lock or LWLock (WALWrite, WALInsert, BufferContent…)
    that a lower-priority import backend holds is the priority inversion to look for."""

    def __init__(self):
        from collections import Counter

        self.counts, self.samples = Counter(), 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import psycopg

        with psycopg.connect(URL, autocommit=True) as conn:
            while not self.stop.wait(0.2):
                self.samples += 1
                for row in conn.execute(
                    "SELECT coalesce(wait_event_type, 'CPU'), coalesce(wait_event, ''),"
                    " left(regexp_replace(query, '\\s+', ' ', 'g'), 40)"
                    " FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()"
                    " AND datname = current_database()"
                ):
                    self.counts[" | ".join(row)] += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def top(self, n: int = 15) -> dict:
        return {"samples": self.samples, **dict(self.counts.most_common(n))}


def fresh_round() -> None:
    empty_round_tables()
    cli("testing", "round-create", "--code", "B0", "--name", "bench", "--scope", "320100")


def cmd_stall(args) -> dict:
    samples, results = files()
    django_setup()
    out = {"rate": args.rate, "workers": args.workers, "connections": args.connections}
    if args.imports_alone:
        # The imports' own time with nothing else running, at each niceness asked for.
        for nice in args.nice:
            fresh_round()
            log(f"imports alone, nice {nice} (load {loadavg()})")
            out[f"imports_alone_nice_{nice}"] = {
                "load": loadavg(),
                **run_imports(samples, results, nice),
            }
            log("  " + json.dumps(out[f"imports_alone_nice_{nice}"]))
        return out
    stamp = int(time.time()) % 100000
    horizon = args.seconds_max
    per_phase = int(args.rate * max(args.quiet_seconds, horizon)) + 10
    numbers_all = None
    # No round left for the server's warm-up to count over the whole city (minutes at 10 M).
    empty_round_tables()
    with Server(args.workers):
        if args.quiet_seconds:
            fresh_round()
            token, numbers_all = fixture(f"D{stamp}", per_phase * (1 + len(args.nice)))
            out["load_before"] = loadavg()
            out["without_imports"] = load(
                token,
                numbers_all,
                f"D{stamp}",
                args.rate,
                args.quiet_seconds,
                args.connections,
                f"Q{stamp}",
            )
            log(f"  without imports: {json.dumps(out['without_imports'])}")
        for k, nice in enumerate(args.nice):
            fresh_round()
            token, numbers_all = fixture(f"D{stamp}", per_phase * (1 + len(args.nice)))
            tail = numbers_all[per_phase * (k + 1) :]
            stop = threading.Event()
            imports: dict = {}

            def runner(nice=nice, imports=imports, stop=stop):
                try:
                    time.sleep(2)  # the desks are scanning first
                    imports.update(run_imports(samples, results, nice))
                    time.sleep(2)
                finally:
                    stop.set()

            thread = threading.Thread(target=runner)
            phase = {"load_start": loadavg()}
            thread.start()
            with Waits() as waits:
                phase["scanner"] = load(
                    token,
                    tail,
                    f"D{stamp}",
                    args.rate,
                    horizon,
                    args.connections,
                    f"I{k}{stamp}",
                    stop,
                )
                thread.join()
            phase["waits"] = waits.top()
            phase["imports"] = imports
            phase["load_end"] = loadavg()
            out[f"during_imports_nice_{nice}"] = phase
            log(f"  during imports, nice {nice}: {json.dumps(phase)}")
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
    parser.add_argument(
        "--connections", type=int, default=64, help="stall: most scans in flight at once"
    )
    parser.add_argument(
        "--nice",
        type=lambda v: [int(x) for x in v.split(",") if x.strip() not in ("", "none")],
        default=[10],
        help="stall: FANGKONG_IMPORT_NICE of the imports, one run each (e.g. 0,10)",
    )
    parser.add_argument(
        "--imports-alone", action="store_true", help="stall: the imports without the scanner"
    )
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
