"""Door-to-door screening campaigns (排查): the households in scope, the visits, the findings."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fangkong.common.keyset import ByteOrder


class Question(models.TextChoices):
    """The questions a campaign may ask at the door (DOMAIN.md, door-to-door screening)."""

    RESIDENTS = "residents", _("Who lives here now")
    RISK_ARRIVAL = "risk_arrival", _("Arrivals from risk areas")
    SYMPTOMS = "symptoms", _("Fever or symptoms")
    VACCINATION = "vaccination", _("Vaccination status")
    ELDERLY_ALONE = "elderly_alone", _("Elderly living alone")
    SPECIAL_NEEDS = "special_needs", _("Special needs")


class Campaign(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    # The node's path: the campaign's subtree, and who sees the campaign (that subtree and above).
    jpath = models.CharField(max_length=255)
    questions = models.JSONField(_("questions"), default=list)
    risk_days = models.PositiveSmallIntegerField(_("look-back for arrivals (days)"), default=14)
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("opened"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("screening campaign")
        indexes = [
            models.Index(
                fields=["jpath"], name="screening_campaign_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name


class GridCoverage(models.Model):
    """One grid of a campaign, with the counters the visit writer keeps: coverage of a 10-million
    city is a sum over its grids' rows (tens of thousands), never a count over its visits."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="grids")
    grid = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    households = models.PositiveIntegerField(_("households in scope"), default=0)
    visited = models.PositiveIntegerField(_("households visited"), default=0)
    residents = models.PositiveIntegerField(_("registered residents"), default=0)
    people_seen = models.PositiveIntegerField(_("people seen"), default=0)
    findings = models.PositiveIntegerField(_("findings"), default=0)
    # A grid may have to finish earlier than the campaign (a sealed compound first).
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    last_visit_at = models.DateTimeField(_("last visit"), null=True, blank=True)

    class Meta:
        ordering = ["jpath"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "grid"], name="screening_grid_once"),
            models.CheckConstraint(
                condition=Q(visited__lte=models.F("households")),
                name="screening_grid_visited_le_scope",
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "jpath"],
                name="screening_grid_jpath",
                opclasses=["", "varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.grid_id}"


class Assignment(models.Model):
    """One household in a campaign's scope: the grid (and optionally the worker) it is assigned
    to. `version` grows on every re-assignment, so a visit recorded offline against an older
    assignment is a conflict, not a silent write."""

    # A city campaign writes millions of these rows in one statement, from a join of the very
    # tables these keys point to: per-row foreign-key triggers there only cost time (about half
    # of the insert), so the keys are kept by the ORM (CASCADE/PROTECT through its collector) and
    # by the writers (`_scope_fill`, `assignment_reassign` checks its grid), not by the database.
    # Replacing the registry under a campaign (`fangkong synth --reset`) is still refused by the
    # database: the campaign's and its grid rows' keys to the jurisdiction tree stay.
    # The campaign's rows are reached through the (campaign, jpath, household) index and a
    # household's through the (household, campaign) one, so no single-column index is kept up.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="assignments",
        db_constraint=False,
        db_index=False,
    )
    household = models.ForeignKey(
        "geo.Household",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    grid = models.ForeignKey(
        "geo.Jurisdiction",
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    jpath = models.CharField(max_length=255)
    # Empty at open (its key trigger would still fire once per row); only the few households
    # given to one worker are indexed. `assignment_reassign` checks the worker.
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    version = models.PositiveIntegerField(default=1)
    visited_at = models.DateTimeField(_("visited"), null=True, blank=True)
    visits = models.PositiveIntegerField(_("visits"), default=0)
    people_seen = models.PositiveIntegerField(_("people seen"), default=0)

    class Meta:
        ordering = [ByteOrder("jpath").asc(), "household_id"]
        constraints = [
            models.UniqueConstraint(
                # Household first: it is also the index a household's deletion looks up; the
                # campaign's own rows are reached through the scope index below.
                fields=["household", "campaign"],
                name="screening_household_once",
            )
        ]
        indexes = [
            # In byte order (COLLATE "C"): it serves the scope's prefix match like the pattern
            # index it replaces, and also the unreached list's order, so a city's first page
            # reads 50 entries instead of sorting millions of rows.
            models.Index(
                models.F("campaign"),
                ByteOrder("jpath"),
                models.F("household"),
                name="screening_assignment_order",
            ),
            models.Index(
                fields=["worker"],
                name="screening_assignment_worker",
                condition=Q(worker__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.household_id}"


class Outcome(models.TextChoices):
    MET = "met", _("Met the household")
    NOBODY_HOME = "nobody_home", _("Nobody home")
    REFUSED = "refused", _("Refused")


class Visit(models.Model):
    """One knock at the door. `client_id` is made by the phone, so a visit sent twice (a sync
    cut off after the server stored it) is stored once."""

    client_id = models.UUIDField(unique=True, default=uuid.uuid4)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="visits")
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="visit_set")
    jpath = models.CharField(max_length=255)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    visited_at = models.DateTimeField(_("visited"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["-visited_at", "-id"]
        verbose_name = _("visit")
        indexes = [
            models.Index(
                fields=["jpath"], name="screening_visit_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} @ {self.visited_at:%Y-%m-%d %H:%M}"


class Vaccination(models.TextChoices):
    UNKNOWN = "", _("Not asked")
    NONE = "none", _("Not vaccinated")
    PARTIAL = "partial", _("Course not complete")
    FULL = "full", _("Full course")
    BOOSTER = "booster", _("Booster")


class VisitPerson(models.Model):
    """Someone met at the door, with the answers. A resident of the registry is linked; a person
    found living there who is not in the registry is recorded by name."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="people")
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=60)
    lives_here = models.BooleanField(_("lives here now"), default=True)
    arrived_from = models.CharField(_("arrived from"), max_length=200, blank=True)
    arrived_on = models.DateField(_("arrived on"), null=True, blank=True)
    fever = models.BooleanField(_("fever"), default=False)
    symptoms = models.BooleanField(_("symptoms"), default=False)
    vaccination = models.CharField(
        _("vaccination"), max_length=8, choices=Vaccination.choices, blank=True, default=""
    )
    elderly_alone = models.BooleanField(_("elderly living alone"), default=False)
    special_needs = models.CharField(_("special needs"), max_length=200, blank=True)

    class Meta:
        ordering = ["visit", "id"]

    def __str__(self) -> str:
        return self.name


class Finding(models.Model):
    """Someone who fits a rule, reported the same day, with what the platform did about it."""

    class Kind(models.TextChoices):
        RISK_ARRIVAL = "risk_arrival", _("Arrival from a risk area")
        SYMPTOM = "symptom", _("Fever or symptoms")

    class Action(models.TextChoices):
        ORDER_OPENED = "order_opened", _("Control order opened")
        ORDER_EXISTS = "order_exists", _("Already under a control order")
        NOT_CONTROLLED = "not_controlled", _("The policy does not control this")
        TEST_ALERT = "test_alert", _("Test on the spot requested")
        TEST_ORDERED = "test_ordered", _("Test ordered")
        NOT_IN_REGISTRY = "not_in_registry", _("Not in the registry: reported")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="findings")
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="findings")
    visit_person = models.ForeignKey(VisitPerson, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    jpath = models.CharField(max_length=255)
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    # Stored as data and worded on display (detail_text), in the reader's language: "symptom"
    # {"fever": bool, "symptoms": bool}; "risk_arrival" {"origin": text, "level": RiskLevel}.
    # `detail` is the text older rows stored already worded.
    detail_code = models.CharField(max_length=16, blank=True)
    params = models.JSONField(default=dict, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    risk_level = models.CharField(_("risk level"), max_length=12, blank=True)
    control_order = models.ForeignKey(
        "control.ControlOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    test_order = models.ForeignKey(
        "testing.TestOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("screening finding")
        indexes = [
            models.Index(
                fields=["jpath"], name="screening_finding_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.person_id or ''}"

    @property
    def detail_text(self) -> str:
        """The detail in the active language (see detail_code)."""
        p = self.params or {}
        if self.detail_code == "symptom":
            labels = ((p.get("fever"), _("fever")), (p.get("symptoms"), _("symptoms")))
            return ", ".join(str(label) for flag, label in labels if flag)
        if self.detail_code == "risk_arrival":
            from fangkong.command.models import RiskLevel

            level = p.get("level", "")
            label = RiskLevel(level).label if level in RiskLevel.values else level
            return f"{p.get('origin', '')} ({label})"
        return self.detail
