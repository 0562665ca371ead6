"""Import jobs state their mode and whether their stored errors were cut; the mass-testing jobs'
rejected rows move to the one shape every importer stores ({"line", "values"} under `header`)."""

import csv

from django.db import migrations, models

# The columns the mass-testing importer kept, in its order, when a job was written by it.
_TESTING_COLUMNS = {
    "testing_samples": ["tube_barcode", "id_number", "sampled_at", "site_code", "kind"],
    "testing_results": ["tube_barcode", "result", "reported_at", "lab_code", "ct_orf1ab", "ct_n"],
}


def _values(raw: str) -> list[str]:
    return next(csv.reader([raw]), [])


def forwards(apps, schema_editor):
    ImportJob = apps.get_model("common", "ImportJob")
    jobs = ImportJob.objects.filter(kind__in=list(_TESTING_COLUMNS)).only(
        "id", "kind", "header", "columns", "rejected_rows"
    )
    for job in jobs.iterator(chunk_size=100):
        rows = job.rejected_rows or []
        if not any(isinstance(row, dict) and "raw" in row for row in rows):
            continue
        job.rejected_rows = [
            {"line": row["line"], "values": _values(row.get("raw") or "")}
            if "raw" in row
            else row
            for row in rows
        ]
        job.header = job.header or _TESTING_COLUMNS[job.kind]
        job.columns = job.columns or _TESTING_COLUMNS[job.kind]
        job.save(update_fields=["rejected_rows", "header", "columns"])


class Migration(migrations.Migration):
    dependencies = [("common", "0003_job_queue")]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="mode",
            field=models.CharField(
                choices=[("keep_good", "Keep the good rows"), ("all_or_nothing", "All or nothing")],
                default="keep_good",
                max_length=16,
                verbose_name="mode",
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="columns",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="importjob",
            name="errors_truncated",
            field=models.BooleanField(default=False, verbose_name="errors truncated"),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
