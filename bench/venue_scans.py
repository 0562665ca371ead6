"""Benchmark: venue-code scans through `fangkong serve` on PostgreSQL, open loop at a fixed rate.

    .venv/bin/python bench/venue_scans.py [--rate 500] [--seconds 60] [--runs 3] [--workers 4] [--server-threads 1]
        [--client async|threads] [--connections 256] [--threads 48]
        [--population 100000] [--places 100000] [--preload 1000000] [--db fangkong_places_bench]
        [--redis redis://127.0.0.1:6379/1]

On PostgreSQL (database fangkong_places_bench: the only one it touches), builds once a synthetic
city (`fangkong synth`), 100,000 key places and a day's worth of earlier scans (set-based SQL),
then, for each run, starts `fangkong serve` (gunicorn, production settings, port 8101, the scan
throttle's counters in Redis database 1) and sends POST /api/v1/places/visits/ at a fixed rate
from a client that shares as little CPU as it can with the server (one asyncio process,
pre-encoded requests; `--client threads` is the first, 48-thread client): a registered person's
phone (nine in ten, no number more than 6 times) or a number nobody has (one in ten) at a
random place, each from its own forwarded address as phones behind the city's
proxy would be. Latency counts from each request's scheduled send time (open loop), so a server
that falls behind cannot hide it. Prints JSON: median of the runs and every run, with the load
average, the CPU time stolen by the hypervisor while it ran, the client's own CPU and the
server's CPU per scan.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FANGKONG = [str(ROOT / ".venv" / "bin" / "fangkong")]
PORT = 8101


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_ticks() -> tuple[int, int, int]:
    """All CPU ticks, the stolen ones and the idle ones (idle + iowait), from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return sum(values), values[7] if len(values) > 7 else 0, values[3] + values[4]


def stolen(since: tuple[int, int]) -> str:
    total, steal, _idle = _cpu_ticks()
    return f"{100 * (steal - since[1]) / max(total - since[0], 1):.0f}%"


class Bench:
    def __init__(self, args):
        assert args.db.startswith(("fangkong_places", "fangkong_scans")), (
            "this bench only touches fangkong_places* / fangkong_scans* databases"
        )
        self.args = args
        self.per_number: dict[str, int] = {}
        self.url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
        self.env = {
            **os.environ,
            "FANGKONG_DATABASE_URL": self.url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
        }

    def sql(self, statement: str, params=None):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else None

    def cli(self, *args: str) -> None:
        subprocess.run([*FANGKONG, *args], env=self.env, check=True, stdout=sys.stderr)

    def prepare(self) -> tuple[list[str], list[str]]:
        a = self.args
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", a.db], capture_output=True)
        self.cli("migrate", "-v", "0")
        if self.sql("SELECT count(*) FROM people_person")[0][0] != a.population:
            log(f"building a city of {a.population:,} people (fangkong synth)")
            self.sql(
                "TRUNCATE places_scan, places_placeorder, places_dutycheck, places_place CASCADE"
            )
            self.cli("synth", "--population", str(a.population), "--seed", "2022", "--reset")
        if self.sql("SELECT count(*) FROM places_place")[0][0] != a.places:
            log(f"registering {a.places:,} places")
            self.sql(
                "TRUNCATE places_scan, places_placeorder, places_dutycheck, places_place CASCADE"
            )
            self.sql(
                """
                INSERT INTO places_place (code, token, name, name_en, place_kind, jurisdiction_id,
                  jpath, address, owner, contact_name, contact_phone, capacity, active, created_at)
                SELECT 'BENCH-' || lpad(i::text, 6, '0'), 'B' || lpad(i::text, 9, '0'),
                       '场所' || i, '', (ARRAY['market','supermarket','mall','restaurant',
                       'workplace','hotel'])[1 + i %% 6], g.id, g.path, '', '', '', '', 200,
                       true, now()
                FROM generate_series(1, %s) i
                JOIN LATERAL (SELECT id, path FROM geo_jurisdiction WHERE level = 'grid'
                              ORDER BY id OFFSET (i %% 50) LIMIT 1) g ON true
                """,
                [a.places],
            )
        have = self.sql("SELECT count(*) FROM places_scan")[0][0]
        if have < a.preload:
            log(f"loading {a.preload - have:,} earlier scans")
            self.sql(
                """
                INSERT INTO places_scan (place_id, phone, id_number, person_id, scanned_at)
                SELECT p.id + (s %% %s), '', '', NULL, now() - (s %% 86400) * interval '1 second'
                FROM generate_series(1, %s) s, (SELECT min(id) AS id FROM places_place) p
                """,
                [a.places, a.preload - have],
            )
            self.sql(
                "UPDATE places_scan SET phone = '1' || lpad((id % 9999999999)::text, 10, '5') WHERE phone = ''"
            )
        self.sql("VACUUM ANALYZE places_scan")
        self.sql("VACUUM ANALYZE places_place")
        tokens = [r[0] for r in self.sql("SELECT token FROM places_place ORDER BY id")]
        phones = [
            r[0]
            for r in self.sql(
                "SELECT phone FROM people_person WHERE phone <> '' ORDER BY id LIMIT 200000"
            )
        ]
        return tokens, phones

    def serve(self):
        process = subprocess.Popen(
            [
                *FANGKONG,
                "serve",
                "--workers",
                str(self.args.workers),
                "--threads",
                str(self.args.server_threads),
                "--bind",
                f"127.0.0.1:{PORT}",
            ],
            env={
                **self.env,
                "DJANGO_SETTINGS_MODULE": "config.settings.prod",
                "FANGKONG_SECRET_KEY": secrets.token_urlsafe(50),
                "FANGKONG_SECURE_COOKIES": "0",
                "FANGKONG_SSL_REDIRECT": "0",
                "FANGKONG_REDIS_URL": self.args.redis,
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
                if process.poll() is not None:
                    raise SystemExit("fangkong serve did not start") from None
                continue
        else:
            process.terminate()
            raise SystemExit("fangkong serve did not answer within 30 s")
        time.sleep(1)
        return process

    def run(self, tokens, phones, k: int) -> dict:
        a = self.args
        total = a.rate * a.seconds
        rng = random.Random(2022 + k)
        bodies = []
        # A number scans at most 6 times in all the runs together (the throttle allows 6 a
        # minute, and the runs follow each other within the minute): a random draw that named
        # one number a 7th time was a correct 429, not a server's error.
        per_number = self.per_number
        for j in range(total):
            phone = phones[rng.randrange(len(phones))] if rng.random() < 0.9 else f"166{k}{j:07d}"
            while per_number.get(phone, 0) >= 6:
                phone = phones[rng.randrange(len(phones))]
            per_number[phone] = per_number.get(phone, 0) + 1
            bodies.append(json.dumps({"code": tokens[rng.randrange(len(tokens))], "phone": phone}))
        server = self.serve()
        ticks = _cpu_ticks()
        server_cpu = _tree_cpu(server.pid)
        client_cpu = _own_cpu()
        try:
            if a.client == "async":
                latencies, service, errors, wall = async_client(bodies, a.rate, a.connections)
            else:
                latencies, service, errors, wall = threads_client(bodies, a.rate, a.threads)
            client_cpu = _own_cpu() - client_cpu
            server_cpu = _tree_cpu(server.pid) - server_cpu
        finally:
            server.terminate()
            server.wait()
        latencies.sort()
        service.sort()

        def pct(values, p):
            return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)

        return {
            "requests": total,
            "achieved_per_s": round(len(latencies) / wall, 1),
            "errors": len(errors),
            "p50_ms": pct(latencies, 0.5),
            "p95_ms": pct(latencies, 0.95),
            "p99_ms": pct(latencies, 0.99),
            "max_ms": round(latencies[-1] * 1000, 1),
            "service_p50_ms": pct(service, 0.5),
            "service_p99_ms": pct(service, 0.99),
            # CPU seconds the load client itself used, as a share of one core over the run.
            "client_cpu_s": round(client_cpu, 2),
            "client_cpu_pct_of_core": round(100 * client_cpu / wall, 1),
            # CPU of the gunicorn master and workers per answered scan (PostgreSQL, Redis apart).
            "server_cpu_ms_per_scan": round(1000 * server_cpu / max(len(latencies), 1), 3),
            "machine_busy": busy(ticks),
            "first_errors": errors[:5],
            "load": loadavg(),
            "cpu_stolen": stolen(ticks),
        }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its children (gunicorn's master and workers)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            with open(f"/proc/{p}/task/{p}/children") as children:
                todo.extend(int(c) for c in children.read().split())
        except OSError:
            continue
    return total / os.sysconf("SC_CLK_TCK")


def busy(since: tuple[int, int, int]) -> str:
    """The share of both cores that was busy (not idle, not waiting on the disk) since then."""
    total, _steal, idle = _cpu_ticks()
    return f"{100 * (1 - (idle - since[2]) / max(total - since[0], 1)):.0f}%"


def _request(body: str, j: int) -> bytes:
    payload = body.encode()
    return (
        f"POST /api/v1/places/visits/ HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
        "Accept-Encoding: identity\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n"
        f"X-Forwarded-For: 10.{j % 250}.{(j // 250) % 250}.{j % 199}\r\n\r\n"
    ).encode() + payload


def async_client(bodies: list[str], rate: int, max_connections: int):
    """One process, one thread, one asyncio loop: pre-encoded requests on keep-alive sockets
    (a new one when the server closes, as gunicorn's sync workers do after each answer), at most
    max_connections open. Open loop: request j is due at start + j/rate whatever the answers
    before it; when no connection is free it waits in a queue, and its latency counts from its
    due time. Returns (latencies, service times, errors, wall seconds)."""
    import asyncio
    from collections import deque

    total = len(bodies)
    requests = [_request(body, j) for j, body in enumerate(bodies)]
    latencies: list[float] = []
    service: list[float] = []
    errors: list = []
    idle: deque = deque()
    waiting: deque = deque()
    clock = time.perf_counter
    state = {"open": 0, "finished": 0}

    loop = asyncio.new_event_loop()
    finished = loop.create_future()
    start = clock() + 0.5

    def settle(j: int, sent: float, outcome) -> None:
        done = clock()
        latencies.append(done - (start + j / rate))
        service.append(done - sent)
        if outcome not in (200, 201):
            errors.append(outcome)
        state["finished"] += 1
        if state["finished"] == total and not finished.done():
            finished.set_result(None)

    class Connection(asyncio.Protocol):
        def __init__(self):
            self.transport = None
            self.buffer = bytearray()
            self.job = None
            self.sent = 0.0

        def connection_made(self, transport):
            self.transport = transport
            self.next()

        def send(self, j: int) -> None:
            self.job, self.sent = j, clock()
            self.transport.write(requests[j])

        def next(self) -> None:
            if waiting:
                self.send(waiting.popleft())
            else:
                idle.append(self)

        def data_received(self, data):
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:  # no length: the body runs to the close
                return
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : stop if stop > 0 else len(head)])
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            j, self.job = self.job, None
            settle(j, self.sent, int(head[9:12]))
            if b"\r\nconnection: close" in head:
                self.transport.close()
            else:
                self.next()

        def connection_lost(self, exc):
            state["open"] -= 1
            if self in idle:
                idle.remove(self)
            if self.job is not None:
                head = bytes(self.buffer)
                outcome = int(head[9:12]) if head.startswith(b"HTTP/1.") else repr(exc)
                j, self.job = self.job, None
                settle(j, self.sent, outcome)
            if waiting and state["open"] < max_connections:
                connect()

    async def opening():
        try:
            await loop.create_connection(Connection, "127.0.0.1", PORT)
        except OSError as exc:
            state["open"] -= 1
            if waiting:
                j = waiting.popleft()
                settle(j, clock(), repr(exc))
            if waiting and state["open"] < max_connections:
                connect()

    def connect() -> None:
        state["open"] += 1
        loop.create_task(opening())

    def dispatch(j: int) -> None:
        if idle:
            idle.popleft().send(j)
            return
        waiting.append(j)
        if state["open"] < max_connections:
            connect()

    async def main():
        j = 0
        while j < total:
            now = clock()
            while j < total and start + j / rate <= now:
                dispatch(j)
                j += 1
            if j < total:
                await asyncio.sleep(max(0.0, start + j / rate - clock()))
        try:
            await asyncio.wait_for(finished, timeout=30)
        except TimeoutError:
            pass
        return clock() - start

    try:
        wall = loop.run_until_complete(main())
    finally:
        loop.close()
    missing = total - len(latencies)
    errors.extend(["no answer within 30 s"] * missing)
    return latencies, service, errors, wall


def threads_client(bodies: list[str], rate: int, threads: int):
    """The first client: `threads` threads of http.client, open loop (latency from each
    request's scheduled send time). Its own CPU competes with the server's on a small machine."""
    total = len(bodies)
    latencies, service, errors = [], [], []
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def worker(t: int):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        for j in range(t, total, threads):
            due = start + j / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            headers = {
                "Content-Type": "application/json",
                "X-Forwarded-For": f"10.{j % 250}.{(j // 250) % 250}.{j % 199}",
            }
            try:
                conn.request("POST", "/api/v1/places/visits/", bodies[j], headers)
                response = conn.getresponse()
                response.read()
                ok = response.status in (200, 201)
                outcome = response.status
            except OSError as exc:
                ok, outcome = False, str(exc)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            done = time.perf_counter()
            with lock:
                latencies.append(done - due)
                service.append(done - sent)
                if not ok:
                    errors.append(outcome)

    clients = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    return latencies, service, errors, time.perf_counter() - start


def in_process(url: str, tokens: list[str], phones: list[str], n: int, redis: str) -> dict:
    """The scan's own cost without HTTP: scan_record (throttle in Redis database 1, the one
    INSERT) called n times in a row on one connection, as one server thread does."""
    os.environ.update(
        FANGKONG_DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings.test",
        FANGKONG_REDIS_URL=redis,
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.cache import caches
    from django.test.utils import override_settings

    from fangkong.places import scans

    caches["shared"] = caches.create_connection("default")  # Redis, not the test DB table
    rng = random.Random(7)
    times = []
    ticks = _cpu_ticks()
    with override_settings(FANGKONG_SCAN_THROTTLE={"address_per_minute": 10**9}):
        for j in range(n):
            started = time.perf_counter()
            scans.scan_record(
                token=tokens[rng.randrange(len(tokens))],
                phone=phones[rng.randrange(len(phones))],
                ip=f"10.1.{j % 250}.{j % 199}",
            )
            times.append(time.perf_counter() - started)
    times.sort()
    return {
        "scans": n,
        "p50_ms": round(times[n // 2] * 1000, 2),
        "p99_ms": round(times[int(n * 0.99)] * 1000, 2),
        "per_s_one_thread": round(n / sum(times), 1),
        "load": loadavg(),
        "cpu_stolen": stolen(ticks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=500, help="scans per second (open loop)")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--client",
        choices=["async", "threads"],
        default="async",
        help="load client: one asyncio process (default) or the first 48-thread http.client one",
    )
    parser.add_argument(
        "--connections", type=int, default=256, help="async client: most sockets open at once"
    )
    parser.add_argument("--threads", type=int, default=48, help="threads client: client threads")
    parser.add_argument(
        "--server-threads", type=int, default=1, help="threads per gunicorn worker (>1: gthread)"
    )
    parser.add_argument("--population", type=int, default=100_000)
    parser.add_argument("--places", type=int, default=100_000)
    parser.add_argument("--preload", type=int, default=1_000_000, help="earlier scans in the table")
    parser.add_argument("--db", default="fangkong_places_bench")
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/1", help="the throttle counters' Redis"
    )
    parser.add_argument(
        "--in-process", type=int, default=0, metavar="N", help="also time N scans without HTTP"
    )
    args = parser.parse_args()
    bench = Bench(args)
    tokens, phones = bench.prepare()
    if args.in_process:
        log(f"in process: {args.in_process} scans (load {loadavg()})")
        print(
            json.dumps(
                {"in_process": in_process(bench.url, tokens, phones, args.in_process, args.redis)}
            )
        )
        if not args.runs:
            return
    if not args.runs:
        return
    runs = []
    for k in range(args.runs):
        log(f"run {k + 1}/{args.runs}: {args.rate}/s for {args.seconds} s (load {loadavg()})")
        runs.append(bench.run(tokens, phones, k))
        log("  " + json.dumps(runs[-1]))
    keys = [k for k in runs[0] if isinstance(runs[0][k], int | float)]
    median = {k: statistics.median(r[k] for r in runs) for k in keys}
    print(json.dumps({"args": vars(args), "median": median, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
