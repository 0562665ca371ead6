"""Import jobs: the durable record of one uploaded file and every row it rejected."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Mode(models.TextChoices):
        # Every good row is written and every bad one reported; a file that cannot be read at
        # all fails before anything is written.
        KEEP_GOOD = "keep_good", _("Keep the good rows")
        # One bad row and nothing is written; the report still lists every bad row.
        ALL_OR_NOTHING = "all_or_nothing", _("All or nothing")

    kind = models.CharField(_("kind"), max_length=32)
    filename = models.CharField(_("file"), max_length=255)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    # The importer's jurisdiction path: the job and its rows are visible within that subtree only.
    jurisdiction_path = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices, default=Mode.KEEP_GOOD)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    # The errors of the first FANGKONG_IMPORT_MAX_STORED_ERRORS rejected lines, in line order;
    # `rejected` counts every rejected line, and errors_truncated says some were not kept.
    # [{"line": 7, "column": "id_number", "value": "...", "reason": "..."}]
    errors = models.JSONField(default=list, blank=True)
    header = models.JSONField(default=list, blank=True)
    # The importer's name for each header cell (id_number for 身份证号), so personal columns are
    # masked whatever the file called them.
    columns = models.JSONField(default=list, blank=True)
    # The rejected rows as they were in the file, so the user can fix and re-upload them:
    # [{"line": 7, "values": ["...", ...]}], values in the order of `header`.
    rejected_rows = models.JSONField(default=list, blank=True)
    errors_truncated = models.BooleanField(_("errors truncated"), default=False)
    message = models.TextField(blank=True)
    # The queue's side (fangkong.common.jobs): what to run, the stored upload it runs on, and who
    # holds it. A worker renews lease_until while it runs; past it, the job is taken back.
    runner = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    file_path = models.CharField(max_length=500, blank=True)
    queue_id = models.CharField(max_length=64, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Why the last run did not finish (its worker stopped), kept when the job is run again.
    reason = models.TextField(_("interruption"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("import job")
        indexes = [
            models.Index(
                fields=["jurisdiction_path"],
                name="import_path_like",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["status", "lease_until"], name="import_job_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.filename}"


class Alert(models.Model):
    """One alert centre for every module: raised by a rule, seen within the node's subtree,
    acknowledged by a person."""

    class Level(models.TextChoices):
        INFO = "info", _("Information")
        WARNING = "warning", _("Warning")
        CRITICAL = "critical", _("Critical")

    kind = models.CharField(_("kind"), max_length=40)
    level = models.CharField(
        _("level"), max_length=10, choices=Level.choices, default=Level.WARNING
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    # Path of the node the alert concerns: HQ sees it, and so does the grid it happened in.
    jurisdiction_path = models.CharField(max_length=255)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # One alert per cause: raising the same key twice is harmless.
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("raised"), auto_now_add=True, db_index=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("alert")
        indexes = [
            models.Index(
                fields=["jurisdiction_path"],
                name="alert_path_like",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["kind", "acknowledged_at"], name="alert_kind_open"),
            models.Index(fields=["created_at", "id"], name="alert_keyset"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def kind_label(self) -> str:
        from .registry import alert_kind_label

        return alert_kind_label(self.kind)


class DemoClock(models.Model):
    """The demo story's moment (one row): the demo clock resumes from it on every start (see
    common.democlock). Absent outside the demo."""

    story_at = models.DateTimeField()

    class Meta:
        verbose_name = _("demo clock")

    def __str__(self) -> str:
        return f"demo story at {self.story_at:%Y-%m-%d %H:%M}"
