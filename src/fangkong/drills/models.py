"""A drill's bookkeeping, kept in the live database: the scenario, its participants, its clock,
the injects it releases into its sandbox, and the score card. The city data of a drill (cases,
contacts, orders, rooms, rounds, tasks) lives in the sandbox only (routing, sandbox)."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class Drill(models.Model):
    class Mode(models.TextChoices):
        LIVE = "live", _("Live drill")
        TABLETOP = "tabletop", _("Tabletop exercise")

    class Status(models.TextChoices):
        READY = "ready", _("Ready")
        RUNNING = "running", _("Running")
        ENDED = "ended", _("Ended")

    name = models.CharField(_("name"), max_length=120)
    mode = models.CharField(_("mode"), max_length=10, choices=Mode.choices, default=Mode.LIVE)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.READY
    )
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    jpath = models.CharField(max_length=255)
    # Simulated hours per real hour: 60 plays a simulated hour in a real minute.
    speed = models.PositiveSmallIntegerField(_("simulated hours per real hour"), default=60)
    population = models.PositiveIntegerField(_("synthetic population"), default=3000)
    seed = models.PositiveIntegerField(_("seed"), default=1)
    # The sandbox: a database alias, a SQLite file or a PostgreSQL schema of the same name.
    sandbox = models.CharField(max_length=40, unique=True)
    sandbox_ready = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    scorecard = models.JSONField(_("score card"), null=True, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("drill")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(speed__gte=1) & models.Q(speed__lte=600),
                name="drills_speed_range",
            ),
        ]
        indexes = [
            models.Index(fields=["jpath"], name="drills_jpath", opclasses=["varchar_pattern_ops"])
        ]

    def __str__(self) -> str:
        return self.name


class Participant(models.Model):
    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField(_("first joined"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["drill", "user"], name="drills_participant_once")
        ]

    def __str__(self) -> str:
        return f"{self.drill_id}:{self.user_id}"


class Inject(models.Model):
    """One scripted event of the scenario: a case reported at a simulated hour."""

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="injects")
    number = models.PositiveSmallIntegerField(_("step"))
    at_hours = models.FloatField(_("simulated hour"))
    # What is released: the person (a sandbox id), class, and how long before the report the
    # onset and the first medical visit were (simulated hours).
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    case_code = models.CharField(_("case number"), max_length=32, blank=True)
    # Tabletop: the modules' figures for the drill's area right after this step.
    figures = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["drill", "number"]
        constraints = [
            models.UniqueConstraint(fields=["drill", "number"], name="drills_inject_number")
        ]

    def __str__(self) -> str:
        return f"{self.drill_id}#{self.number}"
