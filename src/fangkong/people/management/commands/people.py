"""`fangkong people import FILE [--as USER]` and `fangkong people export --out FILE`: the registry in bulk."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from fangkong.accounts.roles import can_see_pii
from fangkong.common.models import ImportJob
from fangkong.geo.management.commands.geo import report
from fangkong.people.services import people_export, people_import


class Command(BaseCommand):
    help = (
        "Import or export the population registry. Without --as the operator acts on everything "
        "and exports unmasked; with --as USERNAME that user's jurisdiction and role apply."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,export}")
        load = actions.add_parser(
            "import", help="create and update residents from a CSV or XLSX file"
        )
        load.add_argument("file")
        load.add_argument("--as", dest="username", help="act as this user (scope, audit)")
        load.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="write nothing if any row is rejected (default: keep the good rows)",
        )
        dump = actions.add_parser("export", help="write residents as CSV or XLSX")
        dump.add_argument("--out", required=True)
        dump.add_argument(
            "--format",
            choices=["csv", "xlsx"],
            default=None,
            help="default: from the file name, else csv",
        )
        dump.add_argument("--as", dest="username", help="act as this user (scope, masking, audit)")

    def handle(self, *args, **options):
        actor = self._actor(options.get("username"))
        if options["action"] == "import":
            try:
                job = people_import(
                    actor=actor,
                    source=options["file"],
                    filename=options["file"],
                    mode=ImportJob.Mode.ALL_OR_NOTHING
                    if options["all_or_nothing"]
                    else ImportJob.Mode.KEEP_GOOD,
                )
            except FileNotFoundError as exc:
                raise CommandError(f"{options['file']}: no such file") from exc
            report(self, job)
            return
        out = options["out"]
        fmt = options["format"] or ("xlsx" if out.lower().endswith(".xlsx") else "csv")
        unmasked = actor is None or can_see_pii(actor)
        with open(out, "wb") as stream:
            count = people_export(actor=actor, out=stream, fmt=fmt, unmasked=unmasked)
        self.stdout.write(f"{count} people written to {out}" + ("" if unmasked else " (masked)"))

    @staticmethod
    def _actor(username: str | None):
        if not username:
            return None
        try:
            return get_user_model().objects.select_related("jurisdiction").get(username=username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"no user named {username!r}") from exc
