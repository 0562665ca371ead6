"""`fangkong serve [--workers N] [--bind 127.0.0.1:8000]`: the production WSGI server (gunicorn).

Runs gunicorn on config.wsgi with N worker processes, each keeping its PostgreSQL connection open
between requests (CONN_MAX_AGE). Scale out by adding processes here, or more hosts behind a load
balancer, over one PostgreSQL. The settings module is the one this command runs under:
config.settings.prod unless DJANGO_SETTINGS_MODULE (or --settings) says otherwise.

Static files are served by WhiteNoise inside the workers; they are collected into STATIC_ROOT
here at start-up when the sources changed since the last collection (a fingerprint of names,
sizes and times: ~0.1 s when nothing changed, a few seconds for a full collection).

Before it binds its port, serve loads the application once in the master and warms it
(`fangkong.common.warmup`: URL resolver, templates, translations, figure providers, the login
page and the HQ dashboard rendered once), and the workers fork from that warmed master; each
opens its database connection before its first request. A restart's first dashboard is then as
fast as the next ones. `--no-warmup` loads the application in each worker on its own (as before);
with the warm-up, new code needs a restart of the whole server (not a HUP).
"""

import hashlib
import os
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


def static_fingerprint() -> str:
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def static_collect() -> bool:
    """Collect static files into STATIC_ROOT unless they are current; True when it collected."""
    from django.core.management import call_command

    stamp = Path(settings.STATIC_ROOT) / ".fangkong-collected"
    fingerprint = f"{settings.STORAGES['staticfiles']['BACKEND']} {static_fingerprint()}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(fingerprint)
    return True


def _connect_worker(worker) -> None:
    """gunicorn's post_worker_init: the worker's own database connection, before any request."""
    from fangkong.common import warmup

    warmup.connect()


class Command(BaseCommand):
    help = "Serve the site and API with gunicorn (multi-process WSGI, config.wsgi)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers", type=int, default=None, help="worker processes (default 2 × CPUs + 1)"
        )
        parser.add_argument("--bind", default="127.0.0.1:8000", help="address:port to listen on")
        parser.add_argument(
            "--threads", type=int, default=1, help="threads per worker (>1: gthread workers)"
        )
        parser.add_argument("--timeout", type=int, default=60, help="worker timeout in seconds")
        parser.add_argument(
            "--access-log", default=None, help="access log file ('-' for stdout; default none)"
        )
        parser.add_argument(
            "--no-warmup",
            action="store_true",
            help="do not load and warm the application before taking traffic",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="do not collect static files at start-up (they are collected elsewhere)",
        )

    def handle(self, *args, workers=None, bind, threads, timeout, access_log, **options):
        warm = not options["no_warmup"]
        from gunicorn.app.base import BaseApplication

        if not options["no_collectstatic"] and static_collect():
            self.stdout.write(f"static files collected into {settings.STATIC_ROOT}")

        # The workers import config.wsgi themselves, under the settings this command runs with.
        os.environ["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
        config = {
            "bind": bind,
            "workers": workers or default_workers(),
            "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            "timeout": timeout,
            "keepalive": 5,
            "backlog": 2048,
            "accesslog": access_log,
            "errorlog": "-",
            "proc_name": "fangkong",
            "preload_app": warm,
        }
        if warm:
            config["post_worker_init"] = _connect_worker

        command = self

        class Server(BaseApplication):
            def load_config(self):
                for key, value in config.items():
                    if value is not None:
                        self.cfg.set(key, value)

            def load(self):
                from config.wsgi import application

                if warm:
                    from fangkong.common import warmup

                    started = time.perf_counter()
                    steps = warmup.warm()
                    connections.close_all()  # the workers fork from here
                    command.stdout.write(
                        f"warmed in {time.perf_counter() - started:.1f} s "
                        + " ".join(f"{k}={v}ms" for k, v in steps.items())
                    )
                return application

        connections.close_all()  # the workers fork from here: each opens its own connection
        self.stdout.write(
            f"gunicorn on http://{bind}: {config['workers']} × {config['worker_class']} workers"
        )
        Server().run()
