"""Mass testing data: rounds, sites, labs, boxes, tubes, samples, re-checks and their outcomes."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def _path_index(field: str, name: str) -> models.Index:
    return models.Index(fields=[field], name=name, opclasses=["varchar_pattern_ops"])


class Round(models.Model):
    """A testing campaign over one or more jurisdiction nodes."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    scope = models.ManyToManyField(
        "geo.Jurisdiction",
        through="RoundScope",
        related_name="testing_rounds",
        verbose_name=_("scope"),
    )
    starts_at = models.DateTimeField(_("starts"), null=True, blank=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    pool_size = models.PositiveSmallIntegerField(_("default pool size"), default=10)
    # {"key_groups": 1, "zones": {"sealed": 1, "controlled": 10, "precaution": 20}}: policy, not code.
    pooling = models.JSONField(_("pooling policy"), default=dict, blank=True)
    target = models.CharField(_("target groups"), max_length=200, blank=True, default="everyone")
    warning_hours = models.PositiveSmallIntegerField(
        _("turnaround warning (h)"), null=True, blank=True
    )
    breach_hours = models.PositiveSmallIntegerField(
        _("turnaround breach (h)"), null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("testing round")
        constraints = [
            models.CheckConstraint(
                condition=Q(pool_size__gte=1) & Q(pool_size__lte=20), name="round_pool_size_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def max_pool_size(self) -> int:
        """The largest pool any tube of this round may hold (20:1 zones inside a 10:1 round)."""
        sizes = [self.pool_size, *(self.pooling.get("zones") or {}).values()]
        return max(int(s) for s in sizes)

    @property
    def thresholds(self) -> tuple[int, int]:
        default = settings.FANGKONG_TESTING_TURNAROUND
        return (
            self.warning_hours or default.get("warning_hours", 6),
            self.breach_hours or default.get("breach_hours", 12),
        )


class RoundScope(models.Model):
    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="scope_nodes")
    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    # Copied from the node so that "does this round touch my subtree" is a string comparison.
    path = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "jurisdiction"], name="round_scope_unique")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.path}"


class Exemption(models.Model):
    """Someone the round does not expect at a site (bedridden: sampled at home instead)."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="exemptions")
    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=120)
    home_visit = models.BooleanField(_("sampled at home"), default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "person"], name="exemption_unique")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.person_id}"


class RotationSlot(models.Model):
    """Regional rotation: which area samples on which day of the round."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="rotation")
    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))

    class Meta:
        ordering = ["day", "jurisdiction__path"]
        constraints = [
            models.UniqueConstraint(fields=["round", "jurisdiction"], name="rotation_unique")
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction_id}@{self.day}"


class Site(models.Model):
    class Kind(models.TextChoices):
        FIXED = "fixed", _("Sampling point")
        HOME_TEAM = "home_team", _("Home-visit team")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FIXED)
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="testing_sites"
    )
    jpath = models.CharField(max_length=255)
    grids = models.ManyToManyField(
        "geo.Jurisdiction", blank=True, related_name="+", verbose_name=_("grids served")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=100, blank=True)
    desks = models.PositiveSmallIntegerField(_("desks"), default=1)
    samplers = models.PositiveSmallIntegerField(_("samplers"), default=2)

    class Meta:
        ordering = ["jpath", "code"]
        verbose_name = _("sampling site")
        indexes = [_path_index("jpath", "site_jpath_like")]

    def __str__(self) -> str:
        return self.name


class Lab(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    daily_capacity = models.PositiveIntegerField(_("tubes per day"), default=0)

    class Meta:
        ordering = ["code"]
        verbose_name = _("lab")
        indexes = [_path_index("jpath", "lab_jpath_like")]

    def __str__(self) -> str:
        return self.name


class Box(models.Model):
    """A transport box of closed tubes, handed over from a site to a lab."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="boxes")
    lab = models.ForeignKey(
        Lab, null=True, blank=True, on_delete=models.PROTECT, related_name="boxes"
    )
    jpath = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)

    class Meta:
        verbose_name = _("transport box")
        indexes = [_path_index("jpath", "box_jpath_like")]

    def __str__(self) -> str:
        return self.code


class Result(models.TextChoices):
    NEGATIVE = "negative", _("Negative")
    POSITIVE = "positive", _("Positive")
    INVALID = "invalid", _("Invalid")


class Tube(models.Model):
    class Kind(models.TextChoices):
        POOL = "pool", _("Pool")
        RECHECK = "recheck", _("Single-tube re-check")

    class Subject(models.TextChoices):
        PERSON = "person", _("People")
        GOODS = "goods", _("Goods")
        SURFACE = "surface", _("Environment surface")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        BOXED = "boxed", _("Boxed")
        IN_TRANSIT = "in_transit", _("In transit")
        RECEIVED = "received", _("Received")
        RESULTED = "resulted", _("Resulted")

    barcode = models.CharField(_("barcode"), max_length=40, unique=True)
    # A million tubes a round: round, site and lab are not database constraints (each was a
    # deferred trigger check per row at commit, 8 s per million tubes imported and 4 s per million
    # results). Only services and the bulk engine write tubes, joined to existing parents; Django
    # still refuses to delete a round, site or lab that has tubes (PROTECT). (round, status) serves
    # every lookup by round.
    round = models.ForeignKey(
        Round,
        on_delete=models.PROTECT,
        related_name="tubes",
        db_constraint=False,
        db_index=False,
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="tubes", db_constraint=False, db_index=False
    )
    # The site's path: tubes are scoped by where they were sampled.
    jpath = models.CharField(max_length=255)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.POOL)
    subject = models.CharField(
        _("subject"), max_length=8, choices=Subject.choices, default=Subject.PERSON
    )
    capacity = models.PositiveSmallIntegerField(_("pool size"), default=10)
    members = models.PositiveSmallIntegerField(_("members"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    # Every index of this table is paid for on each of a million tubes registered and again on
    # each result (an update writes a new row version into every index): the site and lab are
    # never searched by, and only boxed tubes are searched by box. Nor is the box a database
    # constraint: a deferred check per tube written, like round, site and lab.
    box = models.ForeignKey(
        Box,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tubes",
        db_index=False,
        db_constraint=False,
    )
    lab = models.ForeignKey(
        Lab,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tubes",
        db_constraint=False,
        db_index=False,
    )
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    sampled_at = models.DateTimeField(_("sampled"), null=True, blank=True)
    boxed_at = models.DateTimeField(_("boxed"), null=True, blank=True)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)
    tested_at = models.DateTimeField(_("tested"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=8, choices=Result.choices, blank=True)
    ct_orf1ab = models.DecimalField(
        "Ct ORF1ab", max_digits=5, decimal_places=2, null=True, blank=True
    )
    ct_n = models.DecimalField("Ct N", max_digits=5, decimal_places=2, null=True, blank=True)
    # The grid all its people live in, NULL when they live in several (or it holds no people): a
    # result file then moves the grid counts of a million tubes without reading their swabs.
    grid = models.ForeignKey(
        "geo.Jurisdiction",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    # Goods and surfaces have no person: what was swabbed, in words.
    subject_label = models.CharField(_("subject"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("tube")
        indexes = [
            _path_index("jpath", "tube_jpath_like"),
            models.Index(fields=["round", "status"], name="tube_round_status"),
            models.Index(
                fields=["round", "sampled_at"],
                name="tube_round_sampled",
                condition=Q(reported_at__isnull=True),
            ),
            models.Index(fields=["box"], name="tube_box", condition=Q(box__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.barcode


class Sample(models.Model):
    """One person's swab in one tube.

    Ten million of these arrive in a day, so the foreign keys are not database constraints: each
    would be a trigger lookup per row, which costs more than the whole import. Every writer is a
    service or the bulk engine, which only inserts rows joined to their existing parents.
    """

    # No single-column indexes either: (tube, person) and (person, round) below serve every lookup,
    # and each index is paid for on every one of the ten million rows.
    round = models.ForeignKey(
        Round, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    tube = models.ForeignKey(
        Tube,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="samples",
    )
    person = models.ForeignKey(
        "people.Person",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="testing_samples",
    )
    sampled_at = models.DateTimeField(_("sampled"))
    kind = models.CharField(
        _("kind"), max_length=8, choices=Tube.Kind.choices, default=Tube.Kind.POOL
    )
    # True while the tube is open: the partial unique index keeps a person in one open tube per round.
    tube_open = models.BooleanField(default=False)
    # Who scanned the swab at the desk (the scanner API and page); empty for file imports, which
    # are audited per file. A swab is an append to its tube, so this row is its record.
    scanned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        verbose_name = _("sample")
        constraints = [
            models.UniqueConstraint(fields=["tube", "person"], name="sample_tube_person_unique"),
            models.UniqueConstraint(
                fields=["round", "person"], condition=Q(tube_open=True), name="sample_one_open_tube"
            ),
        ]
        indexes = [models.Index(fields=["person", "round"], name="sample_person_round")]

    def __str__(self) -> str:
        return f"{self.tube_id}:{self.person_id}"


class Recheck(models.Model):
    """A worklist item for the home-visit team: sample this person again, one tube each."""

    class Reason(models.TextChoices):
        POSITIVE_POOL = "positive_pool", _("Positive pool")
        INVALID = "invalid", _("Invalid result")

    class Status(models.TextChoices):
        PENDING = "pending", _("To sample")
        SAMPLED = "sampled", _("Sampled")
        RESULTED = "resulted", _("Resulted")

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="rechecks")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    source_tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="rechecks")
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    jpath = models.CharField(max_length=255)
    recheck_tube = models.ForeignKey(
        Tube, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    result = models.CharField(_("result"), max_length=8, choices=Result.choices, blank=True)
    created_at = models.DateTimeField(_("queued"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("re-check")
        constraints = [
            models.UniqueConstraint(fields=["source_tube", "person"], name="recheck_unique")
        ]
        indexes = [
            _path_index("jpath", "recheck_jpath_like"),
            models.Index(fields=["round", "person", "status"], name="recheck_round_person"),
        ]

    def __str__(self) -> str:
        return f"{self.source_tube_id}:{self.person_id}"


class TemporaryControl(models.Model):
    """临时管控 until the control module exists: a member of a positive pool, held on the spot."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="controls")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    since = models.DateTimeField(_("since"))
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        ordering = ["-since", "id"]
        verbose_name = _("temporary control")
        constraints = [
            models.UniqueConstraint(fields=["round", "person"], name="control_round_person_unique")
        ]
        indexes = [_path_index("jpath", "control_jpath_like")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.person_id}"


class PositiveFinding(models.Model):
    """A single-tube positive, handed to tracing through the 'testing.person_positive' event."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="findings")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    tube = models.ForeignKey(Tube, on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    at = models.DateTimeField(_("reported"))

    class Meta:
        ordering = ["-at", "id"]
        verbose_name = _("positive finding")
        constraints = [models.UniqueConstraint(fields=["tube", "person"], name="finding_unique")]
        indexes = [_path_index("jpath", "finding_jpath_like")]

    def __str__(self) -> str:
        return f"{self.tube_id}:{self.person_id}"


class GridStat(models.Model):
    """Per-grid counts of a round, refreshed set-based, so the HQ page never scans ten million rows."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="grid_stats")
    grid = models.ForeignKey("geo.Jurisdiction", on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=255)
    expected = models.PositiveIntegerField(default=0)
    sampled = models.PositiveIntegerField(default=0)
    resulted = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)
    recheck = models.PositiveIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    resample = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["round", "grid"], name="gridstat_unique")]
        indexes = [models.Index(fields=["round", "path"], name="gridstat_round_path")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.path}"


class TurnaroundStat(models.Model):
    """Tubes reported and their hours from sampling to report, per round, site and lab, added to
    as results arrive: turnaround pages read these few thousand rows, not a million tubes."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(
        Site, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    lab = models.ForeignKey(
        Lab, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    jpath = models.CharField(max_length=255)  # the site's path
    lab_path = models.CharField(max_length=255)
    tubes = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["round", "site", "lab"], name="turnaround_unique")
        ]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.site_id}:{self.lab_id}"


class TestOrder(models.Model):
    """A person put on the due-test list, with a reason and a deadline: samplers see it beside
    the round's untested list, the grid sees its own people. One open order per person: a
    second reason for the same person keeps the order (and the sooner deadline). The order is
    met by the person's next swab (a sample taken after it was placed), not by a write of its own.
    """

    __test__ = False  # a model, not a pytest class

    class Reason(models.TextChoices):
        FEVER = "fever", _("Fever at screening")
        SYMPTOMS = "symptoms", _("Symptoms at screening")

    class Status(models.TextChoices):
        OPEN = "open", _("Due")
        CANCELLED = "cancelled", _("Cancelled")

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    # What placed it, as "app.model:id" (a screening finding), for the link back.
    source = models.CharField(_("source"), max_length=64, blank=True)
    due_by = models.DateTimeField(_("test by"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("ordered"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_by", "id"]
        verbose_name = _("test order")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="open"), name="testorder_one_open"
            )
        ]
        indexes = [
            _path_index("jpath", "testorder_jpath_like"),
            models.Index(fields=["status", "due_by"], name="testorder_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}:{self.reason}"
