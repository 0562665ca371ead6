"""Cases and their investigation: the records every other module counts and links to."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Classification(models.TextChoices):
    SUSPECTED = "suspected", _("Suspected")
    CONFIRMED = "confirmed", _("Confirmed")
    ASYMPTOMATIC = "asymptomatic", _("Asymptomatic carrier")
    EXCLUDED = "excluded", _("Excluded")


class Severity(models.TextChoices):
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")
    CRITICAL = "critical", _("Critical")


class FoundBy(models.TextChoices):
    POOL_SCREENING = "pool_screening", _("Pooled screening")
    FEVER_CLINIC = "fever_clinic", _("Fever clinic")
    CHECKPOINT = "checkpoint", _("Checkpoint")
    UNDER_CONTROL = "under_control", _("Contact under control")
    IMPORTED = "imported", _("Imported from abroad")
    COMMUNITY = "community", _("Community screening")
    OTHER = "other", _("Other")


class Case(models.Model):
    """A person's case. Reclassification keeps the same row; the history is in CaseEvent."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # The person's grid path at the time of report: who may see the case.
    jpath = models.CharField(max_length=255)
    code = models.CharField(_("case number"), max_length=32, unique=True)
    classification = models.CharField(
        _("classification"), max_length=16, choices=Classification.choices
    )
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, blank=True, default=""
    )
    found_by = models.CharField(
        _("found by"), max_length=20, choices=FoundBy.choices, default=FoundBy.OTHER
    )
    # Found while already under a control order ("管控内发现").
    under_control_when_found = models.BooleanField(_("found under control"), default=False)
    onset_date = models.DateField(_("onset date"), null=True, blank=True)
    sampling_date = models.DateField(_("sampling date"), null=True, blank=True)
    # The five earlies: each moment, so each interval can be measured.
    onset_at = models.DateTimeField(_("onset"), null=True, blank=True)
    first_visit_at = models.DateTimeField(_("first medical visit"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported"))
    diagnosed_at = models.DateTimeField(_("diagnosed"), null=True, blank=True)
    isolated_at = models.DateTimeField(_("isolated"), null=True, blank=True)
    admitted_at = models.DateTimeField(_("admitted"), null=True, blank=True)
    # The local (Asia/Shanghai) report date, kept so epidemic curves group on a plain column.
    report_date = models.DateField(_("report date"))
    window_start = models.DateTimeField(_("infectious window from"), null=True, blank=True)
    window_end = models.DateTimeField(_("infectious window to"), null=True, blank=True)
    source_tube = models.CharField(_("positive tube"), max_length=40, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-reported_at", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            # One case per person: a reinfection is out of scope for one outbreak.
            models.UniqueConstraint(fields=["person"], name="case_one_per_person"),
        ]
        indexes = [
            models.Index(fields=["jpath"], name="case_jpath", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["report_date", "classification"], name="case_report_date"),
            models.Index(fields=["onset_date"], name="case_onset_date"),
        ]

    def __str__(self) -> str:
        return self.code


class Setting(models.TextChoices):
    HOUSEHOLD = "household", _("Household")
    WORKPLACE = "workplace", _("Workplace")
    SCHOOL = "school", _("School")
    HEALTHCARE = "healthcare", _("Healthcare")
    VENUE = "venue", _("Venue")
    TRANSPORT = "transport", _("Transport")
    COLOCATION = "colocation", _("Co-location")


class Activity(models.Model):
    """One entry of a case's activity timeline: where, when, with whom."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="activities")
    setting = models.CharField(_("setting"), max_length=12, choices=Setting.choices)
    place = models.CharField(_("place"), max_length=200)
    address = models.CharField(_("address"), max_length=255, blank=True)
    # The node the place lies in (a district at least), for bulletins by district and for scope.
    place_jpath = models.CharField(max_length=255, blank=True)
    start = models.DateTimeField(_("from"))
    end = models.DateTimeField(_("to"), null=True, blank=True)
    companions = models.TextField(_("companions"), blank=True)
    # Publishable in the public bulletin (a public place, not a home).
    public = models.BooleanField(_("public place"), default=False)

    class Meta:
        ordering = ["case", "start", "id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [models.Index(fields=["start"], name="activity_start")]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.place}"
