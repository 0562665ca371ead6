"""Benchmark: voluntary testing on PostgreSQL — bookings one after another, a rush on the last
places of one slot, the sampling desk scanning booking QR codes, and the results lookup.

    .venv/bin/python bench/voluntary.py [--population 20000] [--runs 3] [--db fangkong_voluntary_bench]

Builds (once) a synthetic city with `fangkong synth` in its own database, then per run: a fresh
site schedule with 10 hourly slots tomorrow and today, and
  1. 500 bookings one after another (distinct residents and client addresses: each passes the
     rate limit, the identity check and the conditional UPDATE of the slot's counter);
  2. a rush: 8 threads (own connections) book 160 distinct residents into one slot of 50 places
     at once; exactly 50 must succeed (the run fails otherwise);
  3. the desk scans 200 booking QR codes into pools of ten (desk_scan, as the scanner API does),
     beside 200 scans of ID numbers of the same district for comparison;
  4. 100 results lookups: code sent (log sender) + code verified.
Prints one line per measurement: median of the runs, and each run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--population", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default="fangkong_voluntary_bench")
    args = parser.parse_args()
    assert args.db.startswith("fangkong_voluntary"), "this bench only touches its own databases"
    url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    os.environ.update(
        {"FANGKONG_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    )
    os.environ.pop("FANGKONG_REDIS_URL", None)  # counters in the database table, like the tests
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tc", f"CREATE DATABASE {args.db}"],
        capture_output=True,
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    from django.core.management import call_command

    logging.getLogger("fangkong.sms").setLevel(logging.ERROR)  # 100 codes on the console: no
    call_command("migrate", verbosity=0)
    from fangkong.people.models import Person

    if Person.objects.count() != args.population:
        log(f"building a city of {args.population:,} people (fangkong synth)")
        call_command(
            "synth", population=args.population, seed=2022, reset=True, stdout=open(os.devnull, "w")
        )
    results: dict[str, list[float]] = {}
    for run in range(args.runs):
        for name, value in one_run(run).items():
            results.setdefault(name, []).append(value)
            log(f"run {run + 1}: {name} = {value:.2f}")
    load = os.getloadavg()
    print(
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {load[0]:.1f} {load[1]:.1f}"
    )
    for name, values in results.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name}: median {statistics.median(values):.2f} (runs {runs})")


def one_run(run: int) -> dict[str, float]:
    from django.db import connection, connections
    from django.utils import timezone

    from fangkong.accounts.models import User
    from fangkong.geo.models import Jurisdiction, Level
    from fangkong.people.models import Person
    from fangkong.testing import services as testing
    from fangkong.testing.models import Round, Site
    from fangkong.voluntary import services, sms
    from fangkong.voluntary.models import Booking, LookupCode, Slot

    # A clean slate for this bench's own rows (its database only).
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE voluntary_booking, voluntary_slot, voluntary_schedule, voluntary_lookupcode, "
            "testing_sample, testing_tube, fangkong_shared_cache, audit_auditentry CASCADE"
        )
    district = Jurisdiction.objects.filter(level=Level.DISTRICT).order_by("path").first()
    community = (
        Jurisdiction.objects.filter(level=Level.COMMUNITY, path__startswith=district.path)
        .order_by("path")
        .first()
    )
    site = Site.objects.filter(code="BENCH-VOL").first() or testing.site_create(
        actor=None, code="BENCH-VOL", name="基准采样点", jurisdiction=community
    )
    round_ = Round.objects.filter(code="BENCH-VOL").first() or testing.round_create(
        actor=None, code="BENCH-VOL", name="基准", scope=[district], breach_hours=24
    )
    sampler = User.objects.filter(username="bench-sampler").first() or User.objects.create(
        username="bench-sampler", role="sampler", jurisdiction=district
    )
    schedule = services.schedule_set(
        actor=None, site=site, opens=dt.time(8), closes=dt.time(18), capacity=100
    )
    today = timezone.localdate()
    tomorrow = today + dt.timedelta(days=1)
    slots = services.slots_open(actor=None, schedule=schedule, day=tomorrow)
    people = list(
        Person.objects.filter(jpath__startswith=district.path)
        .exclude(phone="")
        .order_by("id")
        .values_list("document_number", "name")[:1200]
    )
    out: dict[str, float] = {}

    # 1. Bookings one after another.
    began = time.perf_counter()
    for i, (number, name) in enumerate(people[:500]):
        services.booking_create(
            slot_id=slots[i % 5].pk,
            id_number=number,
            name=name,
            ip=f"10.{run}.{i // 250}.{i % 250}",
        )
    took = time.perf_counter() - began
    out["bookings one after another (per s)"] = 500 / took
    out["booking latency (ms)"] = took / 500 * 1000

    # 2. The rush on one slot of 50 places.
    rush = services.slot_capacity_set(actor=None, slot=slots[9], capacity=50)
    crowd = people[500:660]
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def worker(chunk, k):
        try:
            barrier.wait(10)
            for j, (number, name) in enumerate(chunk):
                try:
                    services.booking_create(
                        slot_id=rush.pk, id_number=number, name=name, ip=f"11.{run}.{k}.{j}"
                    )
                    outcomes.append("ok")
                except services.Conflict as exc:
                    outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(crowd[k::8], k)) for k in range(8)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    rush.refresh_from_db()
    won = outcomes.count("ok")
    assert won == 50 == rush.booked == Booking.objects.filter(slot=rush).count(), (won, rush.booked)
    assert outcomes.count("slot_full") == 110
    out["rush: 160 attempts on 50 places, 8 threads (s)"] = took

    # 3. Desk scans: QR codes of today's bookings against plain ID numbers.
    today_slot = services.slots_open(actor=None, schedule=schedule, day=today)[0]
    Slot.objects.filter(pk=today_slot.pk).update(
        capacity=1000, starts=dt.time(0), ends=dt.time(23, 59)
    )
    morning = timezone.make_aware(dt.datetime.combine(today, dt.time(0, 0)))
    codes = [
        services.booking_create(
            slot_id=today_slot.pk, id_number=n, name=m, ip=None, now=morning, system=True
        ).qr_payload
        for n, m in people[660:860]
    ]
    began = time.perf_counter()
    for i, code in enumerate(codes):
        testing.desk_scan(
            actor=sampler,
            round_code=round_.code,
            site_code=site.code,
            barcode=f"BQ{run}{i // 10:05d}",
            code=code,
        )
    out["desk scan of a booking QR code (ms)"] = (time.perf_counter() - began) / len(codes) * 1000
    began = time.perf_counter()
    for i, (number, _name) in enumerate(people[860:1060]):
        testing.desk_scan(
            actor=sampler,
            round_code=round_.code,
            site_code=site.code,
            barcode=f"BI{run}{i // 10:05d}",
            code=number,
        )
    out["desk scan of an ID number, for comparison (ms)"] = (
        (time.perf_counter() - began) / 200 * 1000
    )

    # 4. Results lookups: send a code, verify it.
    began = time.perf_counter()
    for i, (number, _name) in enumerate(people[660:760]):
        services.lookup_code_send(id_number=number, ip=f"12.{run}.0.{i}")
        _phone, message = sms.outbox[-1]
        code = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", message).group(1)
        services.lookup_results(id_number=number, code=code, ip=f"12.{run}.0.{i}")
    out["results lookup, code sent + verified (ms)"] = (time.perf_counter() - began) / 100 * 1000
    assert LookupCode.objects.filter(used_at__isnull=False).count() >= 100
    return out


if __name__ == "__main__":
    main()
