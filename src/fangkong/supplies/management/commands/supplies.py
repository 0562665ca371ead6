"""`fangkong supplies …`: load the catalogue, check shortages, verify balances against the ledger."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fangkong.supplies import services


class Command(BaseCommand):
    help = "Supplies: the item catalogue, daily shortage check, ledger/balance verification."

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        verbs.add_parser("items-ensure", help="create the shipped catalogue items that are missing")
        check = verbs.add_parser(
            "check-shortages", help="raise alerts where days of cover is under the threshold"
        )
        check.add_argument("--date", help="YYYY-MM-DD (default: today)")
        check.add_argument("--threshold", type=float, help="days (default: the setting, 3)")
        verify = verbs.add_parser("verify", help="recompute balances from the ledger")
        verify.add_argument("--repair", action="store_true", help="set drifted balances right")

    def handle(self, *args, verb, **options):
        if verb == "items-ensure":
            self.stdout.write(f"{services.supply_items_ensure()} items created")
        elif verb == "check-shortages":
            try:
                today = (
                    dt.date.fromisoformat(options["date"])
                    if options["date"]
                    else timezone.localdate()
                )
            except ValueError as exc:
                raise CommandError(f"--date: {exc}") from exc
            short = services.shortages_check(today=today, threshold=options["threshold"])
            for row in short:
                self.stdout.write(
                    f"{row['node_code']} {row['node_name']} {row['item_code']} "
                    f"{row['days_of_cover']} days"
                )
            self.stdout.write(f"{len(short)} shortages")
        else:
            drift = services.balances_verify(repair=options["repair"])
            for row in drift:
                self.stdout.write(
                    f"warehouse {row['warehouse_id']} item {row['item_id']}: "
                    f"balance {row['balance']} ledger {row['ledger']}"
                )
            self.stdout.write(
                f"{len(drift)} balances differ from the ledger"
                + (" (repaired)" if options["repair"] and drift else "")
            )
            if drift and not options["repair"]:
                raise CommandError("balances drifted from the ledger")
