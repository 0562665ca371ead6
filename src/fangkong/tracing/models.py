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
    # Added in tracing 0002. An epidemiologist's edit of the window wins over the derived one.
    window_edited = models.BooleanField(_("window edited by hand"), default=False)
    cluster_event = models.ForeignKey(
        "ClusterEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        verbose_name=_("cluster event"),
    )

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
            # The list's keyset order (newest first), walked backwards.
            models.Index(fields=["reported_at", "id"], name="case_keyset"),
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


class ClusterEvent(models.Model):
    """A named cluster event (聚集性疫情): an epidemiologist groups linked cases under one name."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    setting = models.CharField(_("setting"), max_length=12, choices=Setting.choices)
    place = models.CharField(_("place"), max_length=200, blank=True)
    # The node the cluster happened in: who may see it.
    jpath = models.CharField(max_length=255)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("cluster event")
        indexes = [
            models.Index(
                fields=["jpath"], name="tracing_cluster_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name


class CaseEvent(models.Model):
    """The history of a case: opened, reclassified, severity changed, times or window edited."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        RECLASSIFIED = "reclassified", _("Reclassified")
        SEVERITY = "severity", _("Severity changed")
        TIMES = "times", _("Five-earlies times changed")
        WINDOW = "window", _("Infectious window edited")
        CLUSTER = "cluster", _("Assigned to a cluster")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    from_value = models.CharField(_("from"), max_length=64, blank=True)
    to_value = models.CharField(_("to"), max_length=64, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["case", "at", "id"]
        verbose_name = _("case event")

    def __str__(self) -> str:
        return f"{self.case_id}:{self.kind}"

    def _label(self, value: str) -> str:
        """A reclassification or severity change stores codes; the history shows their labels."""
        choices = {
            self.Kind.OPENED: Classification,
            self.Kind.RECLASSIFIED: Classification,
            self.Kind.SEVERITY: Severity,
        }.get(self.kind)
        if choices is None or value not in choices.values:
            return value
        return str(choices(value).label)

    @property
    def from_label(self) -> str:
        return self._label(self.from_value)

    @property
    def to_label(self) -> str:
        return self._label(self.to_value)


class Exposure(models.Model):
    """How a case was exposed: setting, place, time and, when known, the source case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="exposures")
    setting = models.CharField(_("setting"), max_length=12, choices=Setting.choices)
    place = models.CharField(_("place"), max_length=200, blank=True)
    start = models.DateTimeField(_("from"), null=True, blank=True)
    end = models.DateTimeField(_("to"), null=True, blank=True)
    source_case = models.ForeignKey(
        Case,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="exposed",
        verbose_name=_("source case"),
    )
    notes = models.CharField(_("notes"), max_length=255, blank=True)

    class Meta:
        ordering = ["case", "start", "id"]
        verbose_name = _("exposure")

    def __str__(self) -> str:
        return f"{self.case_id}:{self.setting}"


class Travel(models.Model):
    """A journey of a case in the look-back period (trains, flights, trips from other cities)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="travels")
    origin = models.CharField(_("from"), max_length=100)
    destination = models.CharField(_("to"), max_length=100)
    departed_at = models.DateTimeField(_("departed"))
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    mode = models.CharField(_("means of transport"), max_length=40, blank=True)
    # Train number, flight, licence plate: what the manifest data is looked up by.
    reference = models.CharField(_("train/flight"), max_length=40, blank=True)

    class Meta:
        ordering = ["case", "departed_at", "id"]
        verbose_name = _("travel")

    def __str__(self) -> str:
        return f"{self.origin}→{self.destination}"


class ContactKind(models.TextChoices):
    CLOSE = "close", _("Close contact")
    SECONDARY = "secondary", _("Secondary close contact")


class LeadState(models.TextChoices):
    CANDIDATE = "candidate", _("Big-data candidate")
    PUSHED = "pushed", _("Pushed to the grid")
    VERIFIED = "verified", _("Verified")
    UNDER_CONTROL = "under_control", _("Under control")
    EXCLUDED = "excluded", _("Excluded")


class Origin(models.TextChoices):
    INVESTIGATION = "investigation", _("Investigation")
    CELL = "cell", _("Telecom co-location")
    VENUE = "venue", _("Venue-code scans")
    TRANSPORT = "transport", _("Transport manifest")


class Contact(models.Model):
    """A lead: one per person, whatever the number of cases or contacts they were exposed to
    (the exposures are ContactLink rows), so duplicate leads merge instead of piling up on the
    grid worker's list. When the person becomes a case, `case` is set and the links stay."""

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # The person's home grid path: the grid the lead is pushed to, and who may see it.
    jpath = models.CharField(max_length=255)
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind.choices)
    state = models.CharField(
        _("state"), max_length=14, choices=LeadState.choices, default=LeadState.CANDIDATE
    )
    setting = models.CharField(_("setting"), max_length=12, choices=Setting.choices)
    last_exposure_at = models.DateTimeField(_("last exposure"))
    origin = models.CharField(_("found by"), max_length=14, choices=Origin.choices)
    pushed_at = models.DateTimeField(_("pushed"), null=True, blank=True)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reachable = models.BooleanField(_("reachable"), null=True, blank=True)
    excluded_reason = models.CharField(_("reason for exclusion"), max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    control_order = models.ForeignKey(
        "control.ControlOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    controlled_at = models.DateTimeField(_("under control since"), null=True, blank=True)
    case = models.OneToOneField(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="as_contact"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_exposure_at", "id"]
        verbose_name = _("contact")
        constraints = [
            models.UniqueConstraint(fields=["person"], name="tracing_contact_one_per_person"),
            models.CheckConstraint(
                condition=~models.Q(state="excluded") | ~models.Q(excluded_reason=""),
                name="tracing_contact_excluded_reason",
            ),
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="tracing_contact_jpath", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["state", "jpath"], name="tracing_contact_state"),
            models.Index(fields=["last_exposure_at", "id"], name="contact_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.person_id}"


class ContactLink(models.Model):
    """One exposure of a contact to a case (close contact) or to a close contact (secondary)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="links")
    source_case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="contact_links"
    )
    source_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="secondary_links"
    )
    setting = models.CharField(_("setting"), max_length=12, choices=Setting.choices)
    last_exposure_at = models.DateTimeField(_("last exposure"))
    origin = models.CharField(_("found by"), max_length=14, choices=Origin.choices)
    episodes = models.PositiveIntegerField(_("episodes"), default=1)
    overlap_minutes = models.DecimalField(
        _("minutes together"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contact", "-last_exposure_at", "id"]
        verbose_name = _("contact link")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source_case__isnull=False)
                | models.Q(source_contact__isnull=False),
                name="tracing_link_has_source",
            ),
            models.UniqueConstraint(
                fields=["contact", "source_case", "origin"],
                condition=models.Q(source_case__isnull=False),
                name="tracing_link_case_origin",
            ),
            models.UniqueConstraint(
                fields=["contact", "source_contact", "origin"],
                condition=models.Q(source_contact__isnull=False),
                name="tracing_link_contact_origin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}←{self.source_case_id or self.source_contact_id}"


class ColocationRun(models.Model):
    """One run of the co-location engine on uploaded or configured data, and its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    rule = models.CharField(_("rule"), max_length=14, choices=Origin.choices)
    data = models.CharField(_("data"), max_length=500)
    params = models.JSONField(default=dict, blank=True)
    # The cases whose windows make the index; empty means every case reported in the last days.
    case_ids = models.JSONField(default=list, blank=True)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="colocation_runs"
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    stage = models.CharField(_("stage"), max_length=100, blank=True)
    index_persons = models.PositiveIntegerField(_("index persons"), default=0)
    rows = models.PositiveIntegerField(_("result rows"), default=0)
    leads_created = models.PositiveIntegerField(_("new leads"), default=0)
    leads_merged = models.PositiveIntegerField(_("merged leads"), default=0)
    pushed = models.PositiveIntegerField(_("pushed to grids"), default=0)
    message = models.TextField(_("message"), blank=True)
    jpath = models.CharField(max_length=255)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("co-location run")
        indexes = [
            models.Index(
                fields=["jpath"], name="tracing_colocrun_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} #{self.pk}"
