"""Benchmark: a grid worker's home, the grouped alert centre and the paged health checks.

    .venv/bin/python bench/workday.py [--people 3000] [--alerts 400] [--orders 300] [--runs 5]

Builds a fresh SQLite city in bench/out/workday.sqlite3 (one district, two grids; the people,
open control orders, leads pushed to the grid and a flood of one-per-person "missed health
check" alerts, as issue 16 found in the demo), then times the pages through Django's test client
in process: `/` for the grid worker (five panels: leads, checks due, untested, tasks, alert
groups), `/alerts/` (open alerts grouped by kind and node) and `/control/checks/` (page 1 of
30). Prints the median and every run in milliseconds, and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--alerts", type=int, default=400)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "workday.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.environ["FANGKONG_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    build(args)
    from django.test import Client

    from fangkong.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username="bench-grid"))
    for url in ("/", "/alerts/", "/control/checks/"):
        times = []
        for _ in range(args.runs + 1):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        times = times[1:]  # the first request warms the template and translation caches
        print(
            f"{url:18} median {statistics.median(times):7.1f} ms   runs "
            + ", ".join(f"{t:.0f}" for t in times)
        )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def build(args) -> None:
    from django.utils import timezone

    from fangkong.accounts.tests.factories import UserFactory
    from fangkong.common.models import Alert
    from fangkong.control.presets import policy_presets_ensure
    from fangkong.control.tests.factories import open_order
    from fangkong.geo.tests.factories import JurisdictionFactory
    from fangkong.people.tests.factories import PersonFactory
    from fangkong.tracing.models import Contact
    from fangkong.tracing.tests.factories import open_case

    policy_presets_ensure()
    province = JurisdictionFactory(code="320000", level="province", name="江苏省")
    city = JurisdictionFactory(code="320100", level="city", name="南京市", parent=province)
    district = JurisdictionFactory(code="320102", level="district", name="玄武区", parent=city)
    street = JurisdictionFactory(code="320102001", level="street", name="街道", parent=district)
    community = JurisdictionFactory(
        code="320102001001", level="community", name="社区", parent=street
    )
    grids = [
        JurisdictionFactory(
            code=f"320102001001G0{i}", level="grid", name=f"第{i}网格", parent=community
        )
        for i in (1, 2)
    ]
    UserFactory(username="bench-grid", role="grid_worker", jurisdiction=grids[0])
    people = [
        person
        for grid in grids
        for person in PersonFactory.build_batch(args.people // 2, grid=grid, household=None)
    ]
    type(people[0]).objects.bulk_create(people, batch_size=1000)
    people = list(type(people[0]).objects.order_by("id"))
    for person in people:
        person.jpath = person.grid.path
    case = open_case(people[0])
    now = timezone.now()
    Contact.objects.bulk_create(
        [
            Contact(
                person=p,
                jpath=p.grid.path,
                kind="close",
                state="pushed",
                setting="venue",
                last_exposure_at=now - dt.timedelta(hours=12),
                origin="venue",
                pushed_at=now - dt.timedelta(minutes=i),
                case=None,
            )
            for i, p in enumerate(people[1 : 1 + args.orders])
        ]
    )
    for p in people[1 + args.orders : 1 + 2 * args.orders]:
        open_order(p, category="close_contact")
    Alert.objects.bulk_create(
        [
            Alert(
                kind="control_missed",
                title=f"{p.name} 未按时健康监测",
                jurisdiction_path=p.grid.path,
            )
            for p in people[: args.alerts]
        ]
    )
    assert case.pk


if __name__ == "__main__":
    main()
