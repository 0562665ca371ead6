"""Reads of import jobs: a job is visible within the subtree of the node it was run from."""

from django.db.models import QuerySet

from .models import ImportJob
from .scope import access, scoped

# A job's rejected rows and errors are personal data and can be large: a list never loads them.
_REPORT_FIELDS = ("errors", "rejected_rows", "header", "columns")


def import_job_list(*, actor, kind: str | None = None) -> QuerySet[ImportJob]:
    qs = scoped(
        ImportJob.objects.select_related("actor").defer(*_REPORT_FIELDS),
        actor,
        "jurisdiction_path",
    )
    return qs.filter(kind=kind) if kind else qs


def access_import_job(actor, job_id: int) -> ImportJob:
    return access(ImportJob.objects.select_related("actor"), actor, "jurisdiction_path", pk=job_id)
