"""`fangkong vaccination import FILE [--as USER]` and `fangkong vaccination refresh`: doses in
bulk from the vaccination system's file, and the coverage counters rebuilt (ages move daily)."""

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from fangkong.geo.management.commands.geo import report
from fangkong.vaccination import bulk, coverage


class Command(BaseCommand):
    help = (
        "Import doses from the vaccination system's CSV (id_number,product_code,lot,dose_number,"
        "given_at,site_code), or rebuild the coverage counters of every grid (run nightly)."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,refresh}")
        load = actions.add_parser("import", help="import a file of doses")
        load.add_argument("file")
        load.add_argument("--as", dest="username", help="act as this user (scope, audit)")
        actions.add_parser("refresh", help="rebuild the coverage counters as of today")

    def handle(self, *args, **options):
        if options["action"] == "refresh":
            started = time.perf_counter()
            rows = coverage.refresh()
            self.stdout.write(
                f"coverage counters: {rows} grid × age-band rows in {time.perf_counter() - started:.1f} s"
            )
            return
        actor = None
        if options.get("username"):
            try:
                actor = (
                    get_user_model()
                    .objects.select_related("jurisdiction")
                    .get(username=options["username"])
                )
            except get_user_model().DoesNotExist as exc:
                raise CommandError(f"no user named {options['username']!r}") from exc
        try:
            with open(options["file"], "rb") as source:
                job = bulk.import_doses(actor=actor, source=source, filename=options["file"])
        except FileNotFoundError as exc:
            raise CommandError(f"{options['file']}: no such file") from exc
        report(self, job)
        if options["verbosity"] >= 2:
            for phase, seconds in bulk.TIMINGS.items():
                self.stdout.write(f"  {phase}: {seconds:.2f} s")
