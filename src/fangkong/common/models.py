"""Import jobs: the durable record of one uploaded file and every row it rejected."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=32)
    filename = models.CharField(_("file"), max_length=255)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    # The importer's jurisdiction path: the job and its rows are visible within that subtree only.
    jurisdiction_path = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RUNNING
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    # [{"line": 7, "column": "id_number", "value": "...", "reason": "..."}]
    errors = models.JSONField(default=list, blank=True)
    header = models.JSONField(default=list, blank=True)
    # The rejected rows as they were in the file, so the user can fix and re-upload them.
    rejected_rows = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("import job")
        indexes = [
            models.Index(
                fields=["jurisdiction_path"],
                name="import_path_like",
                opclasses=["varchar_pattern_ops"],
            )
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
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def kind_label(self) -> str:
        from .registry import alert_kind_label

        return alert_kind_label(self.kind)
