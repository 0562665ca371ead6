"""What the drills' hooks cost a request when no drill runs: the scanner API with and without them.

    .venv/bin/python bench/drills_overhead.py [--runs 9] [--requests 300]

In its own small PostgreSQL database (fangkong_rev_drills: a city tree, one round, one site, one
person, one grid worker with an API token), in one process, warm, it sends the scanner's request
`POST /api/v1/testing/tubes/scan/` (a repeated scan: the whole path of auth, lookups and the
service, answering 200 and changing nothing) through Django's test client, alternately:

- **with**: as shipped, `DrillMiddleware` in MIDDLEWARE and `drills.patches` installed (the
  routed `django.db.connection`, `transaction.atomic()` and default cache);
- **without**: the middleware taken out of MIDDLEWARE and the three patches undone (Django's own
  proxies and `transaction.get_connection`).

Each run sends `--requests` requests per variant, the two in turn request by request, and takes
each variant's median; the figures are the medians of the runs and of their differences. Because
a scan's own time varies by far more than the hooks can cost, it also measures the hooks alone:
how many times one scan reads the drill context variable (router and patches), what one routed
`django.db.connection` read costs over Django's own proxy, and DrillMiddleware's own time on a
request without a drill.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = os.environ.get("FK_BENCH_DB", "fangkong_rev_drills")  # the only database it touches
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
ENV = {**os.environ, "FANGKONG_DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
MIDDLEWARE_PATH = "fangkong.drills.middleware.DrillMiddleware"
sys.path.insert(0, str(Path(__file__).resolve().parent))
import control as base  # noqa: E402  (bench/control.py: log, create and migrate the database)

base.use_database(DB)
log, prepare = base.log, base.prepare


def world() -> dict:
    """The smallest city a scan needs, made once (the database is kept between runs)."""
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from fangkong.accounts.models import User
    from fangkong.geo.models import Jurisdiction
    from fangkong.geo.tests.factories import JurisdictionFactory
    from fangkong.people.models import Person
    from fangkong.people.tests.factories import PersonFactory
    from fangkong.testing.models import Round
    from fangkong.testing.tests.factories import SiteFactory, make_round

    user = User.objects.filter(username="bench_scanner").first()
    if user is None:
        parent = None
        for code, level in [
            ("320000", "province"),
            ("320100", "city"),
            ("320102", "district"),
            ("320102001", "street"),
            ("320102001001", "community"),
            ("320102001001G01", "grid"),
        ]:
            parent = JurisdictionFactory(code=code, level=level, name=code, parent=parent)
        make_round("BR1", Jurisdiction.objects.get(code="320100"), pool_size=10)
        SiteFactory(code="BSA", jurisdiction=parent)
        PersonFactory(grid=parent)
        user = User.objects.create_user(
            username="bench_scanner", password="x", role="sampler", jurisdiction=parent
        )
    token, _ = Token.objects.get_or_create(user=user)
    # A fresh token: the bench must not stop on the token lifetime.
    Token.objects.filter(pk=token.pk).update(created=timezone.now())
    person = Person.objects.order_by("id").first()
    assert Round.objects.filter(code="BR1").exists()
    return {"token": token.key, "code": person.document_number, "user": user}


def _undo_patches():
    """Put back Django's own proxies and transaction.get_connection; returns the redo."""
    import django.core.cache as cache_module
    import django.db as db_module
    from django.db import transaction
    from django.utils.connection import ConnectionProxy

    from fangkong.drills import patches

    routed = (
        db_module.connection.__class__,
        transaction.get_connection,
        cache_module.cache.__class__,
    )

    def plain_get_connection(using=None):
        from django.db import DEFAULT_DB_ALIAS, connections

        return connections[using or DEFAULT_DB_ALIAS]

    def undo():
        object.__setattr__(db_module.connection, "__class__", ConnectionProxy)
        transaction.get_connection = plain_get_connection
        object.__setattr__(cache_module.cache, "__class__", ConnectionProxy)

    def redo():
        object.__setattr__(db_module.connection, "__class__", routed[0])
        transaction.get_connection = routed[1]
        object.__setattr__(cache_module.cache, "__class__", routed[2])

    assert routed[0] is patches._RoutedConnectionProxy, "the patches are not installed"
    return undo, redo


def clients(token: str):
    from django.conf import settings
    from django.test import Client, override_settings

    assert MIDDLEWARE_PATH in settings.MIDDLEWARE
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    with_ = Client(**headers)
    without = Client(**headers)
    # The handler builds its middleware chain at its first request: build each under its own list.
    with override_settings(MIDDLEWARE=[m for m in settings.MIDDLEWARE if m != MIDDLEWARE_PATH]):
        without.handler.load_middleware()
    with_.handler.load_middleware()
    return with_, without


def timed(client, body: dict, n: int) -> float:
    """Mean milliseconds of one request over n requests."""
    started = time.perf_counter()
    for _ in range(n):
        answer = client.post("/api/v1/testing/tubes/scan/", body, content_type="application/json")
        if answer.status_code != 200:
            raise SystemExit(f"scan answered {answer.status_code}: {answer.content[:300]!r}")
    return (time.perf_counter() - started) * 1000 / n


def context_reads(client, body: dict) -> int:
    """How many times one request asks routing.current() (the router, the three patches)."""
    from fangkong.drills import routing

    original = routing.current
    calls = 0

    def counting():
        nonlocal calls
        calls += 1
        return original()

    routing.current = counting
    try:
        client.post("/api/v1/testing/tubes/scan/", body, content_type="application/json")
    finally:
        routing.current = original
    return calls


def context_read_ns(undo, redo) -> float:
    """One `django.db.connection` attribute read through the routed proxy minus one through
    Django's own proxy, in nanoseconds (a million reads each, best of five)."""
    import django.db as db_module

    def per_read() -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(1_000_000):
                db_module.connection.vendor  # noqa: B018 - the read is the measurement
            best = min(best, time.perf_counter() - started)
        return best * 1e9 / 1_000_000

    routed = per_read()
    undo()
    try:
        plain = per_read()
    finally:
        redo()
    return routed - plain


def middleware_ns(user) -> float:
    """DrillMiddleware's own time on a request with no drill (a session without the drill key,
    as SessionMiddleware leaves it): the middleware around a no-op minus the no-op, best of five
    runs of 100,000 calls."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    from fangkong.drills.middleware import DrillMiddleware

    request = RequestFactory().post("/api/v1/testing/tubes/scan/")
    request.session, request.user = SessionStore(), user

    def nothing(_request):
        return None

    wrapped = DrillMiddleware(nothing)

    def best(call) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(100_000):
                call(request)
            times.append(time.perf_counter() - started)
        return min(times) * 1e9 / 100_000

    return best(wrapped) - best(nothing)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    prepare()
    os.environ.update(FANGKONG_DATABASE_URL=URL, DJANGO_SETTINGS_MODULE="config.settings.test")
    sys.path.insert(0, str(ROOT / "src"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's hooks, as the suite has them
    w = world()
    body = {"round": "BR1", "site": "BSA", "barcode": "BENCH-T1", "code": w["code"]}
    with_, without = clients(w["token"])
    undo, redo = _undo_patches()
    first = with_.post("/api/v1/testing/tubes/scan/", body, content_type="application/json")
    log(f"first scan: {first.status_code}")
    reads = context_reads(with_, body)
    per_read = context_read_ns(undo, redo)
    # Warm both paths.
    timed(with_, body, args.requests)
    undo()
    timed(without, body, args.requests)
    redo()
    runs_with, runs_without = [], []
    for i in range(args.runs):
        took = {"with": [], "without": []}
        for k in range(args.requests):
            # Request by request, the two variants in turn (the first of the pair alternating),
            # so that a change of load falls on both alike.
            pair = ["with", "without"] if (i + k) % 2 == 0 else ["without", "with"]
            for name in pair:
                if name == "without":
                    undo()
                    try:
                        took[name].append(timed(without, body, 1))
                    finally:
                        redo()
                else:
                    took[name].append(timed(with_, body, 1))
        runs_with.append(statistics.median(took["with"]))
        runs_without.append(statistics.median(took["without"]))
        log(f"run {i + 1}: with {runs_with[-1]:.3f} ms, without {runs_without[-1]:.3f} ms")
    diffs = [a - b for a, b in zip(runs_with, runs_without, strict=True)]
    mw_ns = middleware_ns(w["user"])
    print(f"requests per run and variant: {args.requests}, runs: {args.runs}")
    print("(each run's figure: the median of its requests)")
    print(f"with hooks    median {statistics.median(runs_with):.3f} ms/request")
    print(f"without hooks median {statistics.median(runs_without):.3f} ms/request")
    print(f"difference    median {statistics.median(diffs) * 1000:.1f} µs/request")
    print("with    runs: " + ", ".join(f"{x:.3f}" for x in runs_with))
    print("without runs: " + ", ".join(f"{x:.3f}" for x in runs_without))
    print("differences (µs): " + ", ".join(f"{x * 1000:.1f}" for x in diffs))
    print(f"DrillMiddleware alone, no drill: {mw_ns:.0f} ns per request")
    print(f"routing.current() reads per request: {reads}")
    print(f"one read of django.db.connection costs {per_read:.0f} ns more routed than plain")


if __name__ == "__main__":
    main()
