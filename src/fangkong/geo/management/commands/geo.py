"""`fangkong geo import FILE` and `fangkong geo export --out FILE`: the jurisdiction tree in bulk."""

from django.core.management.base import BaseCommand, CommandError

from fangkong.common.imports import reason_text
from fangkong.common.models import ImportJob
from fangkong.geo.bulk import geo_export, geo_import


def report(command: BaseCommand, job: ImportJob) -> None:
    """Counts on stdout, every rejected line on stderr; a job that failed (a file that could not
    be read, a bad row in an all-or-nothing import) fails the command after its errors."""
    for error in job.errors:
        where = (
            f"line {error['line']}, {error['column']}"
            if error["column"]
            else f"line {error['line']}"
        )
        command.stderr.write(f"{where}: {reason_text(error)}")
    if job.status == ImportJob.Status.FAILED:
        raise CommandError(f"{job.filename}: {job.message}")
    command.stdout.write(
        f"{job.kind} import {job.filename} (job {job.pk}): {job.total_rows} rows, "
        f"{job.created} created, {job.updated} updated, {job.unchanged} unchanged, "
        f"{job.rejected} rejected"
    )


class Command(BaseCommand):
    help = "Import or export the jurisdiction tree (code, parent_code, level, name, name_en, population)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,export}")
        load = actions.add_parser("import", help="create and update nodes from a CSV or XLSX file")
        load.add_argument("file")
        dump = actions.add_parser("export", help="write the whole tree, parents before children")
        dump.add_argument("--out", required=True)
        dump.add_argument(
            "--format",
            choices=["csv", "xlsx"],
            default=None,
            help="default: from the file name, else csv",
        )

    def handle(self, *args, **options):
        if options["action"] == "import":
            try:
                job = geo_import(actor=None, source=options["file"], filename=options["file"])
            except FileNotFoundError as exc:
                raise CommandError(f"{options['file']}: no such file") from exc
            report(self, job)
            return
        out = options["out"]
        fmt = options["format"] or ("xlsx" if out.lower().endswith(".xlsx") else "csv")
        with open(out, "wb") as stream:
            count = geo_export(actor=None, out=stream, fmt=fmt)
        self.stdout.write(f"{count} jurisdictions written to {out}")
