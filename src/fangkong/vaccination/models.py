"""Vaccination: products and their schedules (data), sites, doses given, coverage counters, AEFI."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Product(models.Model):
    """A vaccine and its schedule, shipped as data (migration 0002), edited without code."""

    class Kind(models.TextChoices):
        INACTIVATED = "inactivated", _("Inactivated")
        RECOMBINANT = "recombinant", _("Recombinant protein")
        ADENOVIRUS = "adenovirus", _("Adenovirus vector")
        MRNA = "mrna", _("mRNA")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    manufacturer = models.CharField(_("manufacturer"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    primary_doses = models.PositiveSmallIntegerField(_("doses in the full course"))
    # Between two doses of the course: not before the minimum, overdue after the maximum.
    interval_min_days = models.PositiveSmallIntegerField(_("minimum interval (days)"), default=0)
    interval_max_days = models.PositiveSmallIntegerField(_("maximum interval (days)"), default=0)
    booster_after_days = models.PositiveSmallIntegerField(
        _("booster from (days after the full course)"), default=180
    )
    # A second booster for the elderly (from Dec 2022): its minimum age and delay.
    second_booster_min_age = models.PositiveSmallIntegerField(
        _("second booster from age"), default=60
    )
    second_booster_after_days = models.PositiveSmallIntegerField(
        _("second booster from (days after the first)"), default=180
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("vaccine product")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(primary_doses__gte=1), name="vacc_product_doses_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(interval_max_days__gte=models.F("interval_min_days")),
                name="vacc_product_interval_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Site(models.Model):
    """A vaccination site (接种点) inside a jurisdiction."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="vaccination_sites"
    )
    jpath = models.CharField(max_length=255)
    address = models.CharField(_("address"), max_length=200, blank=True)
    daily_capacity = models.PositiveIntegerField(_("doses a day"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("vaccination site")
        indexes = [
            models.Index(
                fields=["jpath"], name="vacc_site_jpath_like", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name


class Lot(models.Model):
    """A product's lot (批号): few per product, so a dose carries its id, not the text."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    code = models.CharField(_("lot"), max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="vacc_lot_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class Dose(models.Model):
    """One dose given. (person, dose_number) is the natural key: a re-import changes nothing.

    Twenty-five million of these come in one file, so (as testing's swabs) the foreign keys are
    not database constraints, each being a trigger lookup per row: the writers are the service
    and the bulk engine, which insert only rows joined to their existing parents. Indexes: the
    unique key, nothing else: it serves lookups by person, and doses are scoped through their
    person's path (people's index). Every column is fixed-width, so the import writes binary COPY."""

    class Source(models.TextChoices):
        IMPORT = "import", _("Imported")
        SITE = "site", _("Recorded at the site")

    person = models.ForeignKey(
        "people.Person",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="doses",
    )
    product = models.ForeignKey(
        Product, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    lot = models.ForeignKey(
        "Lot", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    dose_number = models.PositiveSmallIntegerField(_("dose number"))
    site = models.ForeignKey(
        Site, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    given_at = models.DateTimeField(_("given at"))
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.SITE)
    recorded_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        verbose_name = _("dose")
        constraints = [
            models.UniqueConstraint(fields=["person", "dose_number"], name="vacc_dose_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} #{self.dose_number}"


class AgeBand(models.IntegerChoices):
    """Age bands of the coverage report; the elderly (60+, 80+) are reported separately too."""

    CHILD = 0, _("3–11")
    TEEN = 1, _("12–17")
    ADULT = 2, _("18–59")
    SIXTIES = 3, _("60–69")
    SEVENTIES = 4, _("70–79")
    EIGHTY_PLUS = 5, _("80+")
    UNDER_THREE = 6, _("under 3")


# The lower age of each band, in the order of AgeBand (under 3 last: not eligible, not counted).
BAND_MIN_AGE = {0: 3, 1: 12, 2: 18, 3: 60, 4: 70, 5: 80}


class GridCoverage(models.Model):
    """Counters per grid and age band: people registered and vaccinated, kept by the writers
    (a dose recorded at a site adds one; an import refreshes the grids it touched, set-based),
    so the city's coverage is a sum over a few thousand rows, never a scan of the doses."""

    grid = models.ForeignKey("geo.Jurisdiction", on_delete=models.CASCADE, related_name="+")
    jpath = models.CharField(max_length=255)
    band = models.PositiveSmallIntegerField(choices=AgeBand.choices)
    population = models.PositiveIntegerField(default=0)
    first = models.PositiveIntegerField(default=0)
    full = models.PositiveIntegerField(default=0)
    booster = models.PositiveIntegerField(default=0)
    booster2 = models.PositiveIntegerField(default=0)
    as_of = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["grid", "band"], name="vacc_coverage_unique"),
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="vacc_cov_jpath_like", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.jpath} {self.get_band_display()}"


class Aefi(models.Model):
    """An adverse event following immunization (疑似预防接种异常反应), reported and followed."""

    class Severity(models.TextChoices):
        COMMON = "common", _("Common reaction")
        RARE = "rare", _("Rare reaction")
        SERIOUS = "serious", _("Serious")

    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported")
        INVESTIGATING = "investigating", _("Under investigation")
        RECOVERED = "recovered", _("Recovered")
        CLOSED = "closed", _("Closed")

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="aefis")
    dose = models.ForeignKey(Dose, on_delete=models.PROTECT, related_name="aefis")
    jpath = models.CharField(max_length=255)
    onset_at = models.DateTimeField(_("onset"))
    symptoms = models.CharField(_("symptoms"), max_length=500)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    status = models.CharField(
        _("follow-up status"), max_length=16, choices=Status.choices, default=Status.REPORTED
    )
    reported_at = models.DateTimeField(auto_now_add=True)
    reported_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("adverse event following immunization")
        indexes = [
            models.Index(
                fields=["jpath"], name="vacc_aefi_jpath_like", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"AEFI {self.pk} ({self.severity})"


class AefiFollowUp(models.Model):
    aefi = models.ForeignKey(Aefi, on_delete=models.CASCADE, related_name="follow_ups")
    at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Aefi.Status.choices)
    note = models.CharField(_("note"), max_length=500)
    by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.aefi_id} → {self.status}"
