"""`fangkong places …`: the periodic work on key places (orders after risk-area changes, the
21-day retention of venue scans) and the export of scans for the big-data venue rule."""

from django.core.management.base import BaseCommand, CommandError

from fangkong.geo.models import Jurisdiction
from fangkong.places import services


class Command(BaseCommand):
    help = "Key places: apply risk areas and the response level, purge old scans, export scans."

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        apply = verbs.add_parser(
            "apply-orders", help="close or restrict places as the risk areas and level require"
        )
        apply.add_argument("--node", default="", help="a node's code (default: the whole tree)")
        purge = verbs.add_parser("purge-scans", help="delete venue scans older than the days")
        purge.add_argument("--days", type=int, default=21)
        export = verbs.add_parser(
            "export-scans",
            help="scans with a registry person as Parquet person_id,venue_id,scanned_at "
            "(the input of `fangkong colocate venue`)",
        )
        export.add_argument("--out", required=True)
        export.add_argument("--days", type=int, default=21)

    def handle(self, *args, verb, **options):
        if verb == "apply-orders":
            jpath = None
            if options["node"]:
                node = Jurisdiction.objects.filter(code=options["node"]).first()
                if node is None:
                    raise CommandError(f"no node {options['node']!r}")
                jpath = node.path
            stats = services.place_orders_apply(actor=None, jpath=jpath)
            self.stdout.write(
                f"{stats['issued']} orders issued, {stats['lifted']} lifted, {stats['kept']} kept"
            )
        elif verb == "purge-scans":
            deleted = services.scans_purge(days=options["days"])
            self.stdout.write(f"{deleted} scans older than {options['days']} days deleted")
        else:
            rows = services.scans_export(out=options["out"], days=options["days"])
            self.stdout.write(f"{rows} scans written to {options['out']}")
