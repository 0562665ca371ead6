"""`fangkong resumption import-workers --organisation CODE FILE`: an organisation's workforce."""

from django.core.management.base import BaseCommand, CommandError

from fangkong.common.imports import reason_text
from fangkong.resumption import services
from fangkong.resumption.models import Organisation


class Command(BaseCommand):
    help = "Work and school resumption: import an enterprise's or school's returning workforce."

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", required=True)
        workers = verbs.add_parser(
            "import-workers", help="CSV/XLSX id_number,name,origin,arrival_date[,kind,phone]"
        )
        workers.add_argument("--organisation", required=True)
        workers.add_argument("file")

    def handle(self, *args, verb, **options):
        organisation = Organisation.objects.filter(code=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"no enterprise or school {options['organisation']}")
        job = services.workers_import(
            actor=None, organisation=organisation, source=options["file"], filename=options["file"]
        )
        self.stdout.write(
            f"{job.status}: {job.created} registered, {job.updated} updated, "
            f"{job.unchanged} unchanged, {job.rejected} rejected"
        )
        for error in job.errors:
            self.stdout.write(f"line {error['line']}, {error['column']}: {reason_text(error)}")
        if job.status != "done":
            raise CommandError(job.message)
