"""`fangkong command …`: import other cities' risk areas, and the daily checks run by a scheduler."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fangkong.command import services


class Command(BaseCommand):
    help = "Command centre: risk-area import, task escalation, risk-area review, overdue findings."

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        imp = verbs.add_parser(
            "import-risk-areas", help="CSV province,city,district,area_name,level,since"
        )
        imp.add_argument("file")
        verbs.add_parser("escalate", help="escalate overdue tasks")
        review = verbs.add_parser("review-risk-areas", help="propose the downgrades due today")
        review.add_argument("--today", type=dt.date.fromisoformat)
        overdue = verbs.add_parser("findings-overdue", help="alert findings past their deadline")
        overdue.add_argument("--today", type=dt.date.fromisoformat)
        reports = verbs.add_parser(
            "daily-reports", help="assemble the day's three-level reports from the modules"
        )
        reports.add_argument(
            "--day", type=dt.date.fromisoformat, help="the day reported on (default: yesterday)"
        )
        verbs.add_parser("reports-late", help="alert the unsigned reports past their deadline")

    def handle(self, *args, verb, **options):
        getattr(self, "_" + verb.replace("-", "_"))(**options)

    def _import_risk_areas(self, *, file, **_):
        try:
            open(file, "rb").close()
        except OSError as exc:
            raise CommandError(f"cannot open {file}: {exc.strerror}") from None
        job = services.risk_areas_import(actor=None, source=file, filename=file)
        if job.status == "failed":
            raise CommandError(job.message)
        for error in job.errors:
            column = f", {error['column']}" if error["column"] else ""
            self.stderr.write(f"line {error['line']}{column}: {error['reason']}")
        self.stdout.write(
            f"{job.total_rows} rows: {job.created} created, {job.updated} updated, "
            f"{job.unchanged} unchanged, {job.rejected} rejected"
        )
        if job.rejected:
            raise CommandError(f"{job.rejected} rows rejected")

    def _escalate(self, **_):
        self.stdout.write(f"{services.tasks_escalate(now=timezone.now())} tasks escalated")

    def _review_risk_areas(self, *, today=None, **_):
        proposals = services.risk_areas_review(today=today or timezone.localdate())
        self.stdout.write(f"{len(proposals)} downgrades proposed")

    def _daily_reports(self, *, day=None, **_):
        day = day or timezone.localdate() - dt.timedelta(days=1)
        count = services.daily_reports_assemble(day=day)
        self.stdout.write(f"{count} daily reports for {day.isoformat()} assembled")

    def _reports_late(self, **_):
        self.stdout.write(f"{services.daily_reports_flag_late()} reports late")

    def _findings_overdue(self, *, today=None, **_):
        count = services.findings_overdue_alert(today=today or timezone.localdate())
        self.stdout.write(f"{count} overdue findings")
