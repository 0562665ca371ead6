"""Treatment: designated and cabin hospitals, their units and beds, admissions of cases."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BedType(models.TextChoices):
    ICU = "icu", _("ICU bed")
    GENERAL = "general", _("General bed")
    FANGCANG = "fangcang", _("Cabin-hospital bed")


class Facility(models.Model):
    class Kind(models.TextChoices):
        DESIGNATED = "designated", _("Designated hospital")
        FANGCANG = "fangcang", _("Cabin hospital")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    address = models.CharField(_("address"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        indexes = [
            models.Index(
                fields=["jpath"], name="care_facility_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """A ward or ICU of a designated hospital, or a nursing unit (20 beds) of a cabin hospital."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="units")
    number = models.PositiveSmallIntegerField(_("number"))
    bed_type = models.CharField(_("bed type"), max_length=10, choices=BedType.choices)

    class Meta:
        ordering = ["facility", "bed_type", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "bed_type", "number"], name="care_unit_number_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        if self.bed_type == BedType.ICU:
            return _("ICU %(n)s") % {"n": self.number}
        if self.bed_type == BedType.FANGCANG:
            return _("Nursing unit %(n)s") % {"n": self.number}
        return _("Ward %(n)s") % {"n": self.number}


class Bed(models.Model):
    class State(models.TextChoices):
        VACANT = "vacant", _("Vacant")
        OCCUPIED = "occupied", _("Occupied")
        CLEANING = "cleaning", _("Cleaning/disinfection")
        OUT_OF_SERVICE = "out_of_service", _("Out of service")

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="beds")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="beds")
    number = models.CharField(_("bed"), max_length=16)
    bed_type = models.CharField(_("bed type"), max_length=10, choices=BedType.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.VACANT)

    class Meta:
        ordering = ["facility", "unit", "number"]
        constraints = [
            models.UniqueConstraint(fields=["facility", "number"], name="care_bed_number_uniq")
        ]
        indexes = [models.Index(fields=["state", "bed_type", "facility"], name="care_bed_state")]

    def __str__(self) -> str:
        return self.number


class Admission(models.Model):
    """One stay of a case in one bed; a transfer ends it and starts the next one."""

    class Status(models.TextChoices):
        ADMITTED = "admitted", _("In hospital")
        TRANSFERRED = "transferred", _("Transferred")
        DISCHARGED = "discharged", _("Discharged")

    case = models.ForeignKey("tracing.Case", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # The case's path: the case's district sees its patients, as the hospital's node does.
    jpath = models.CharField(max_length=255)
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="admissions")
    bed = models.ForeignKey(Bed, on_delete=models.PROTECT, related_name="admissions")
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.ADMITTED
    )
    classification = models.CharField(_("classification"), max_length=16)
    severity = models.CharField(_("severity"), max_length=10, blank=True)
    admitted_at = models.DateTimeField(_("admitted"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next"
    )
    released_order = models.ForeignKey(
        "control.ControlOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    admitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-admitted_at", "-id"]
        verbose_name = _("admission")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="admitted"), name="care_one_open_admission"
            ),
            models.UniqueConstraint(
                fields=["bed"], condition=Q(status="admitted"), name="care_one_patient_per_bed"
            ),
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="care_admission_jpath", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["status", "facility"], name="care_admission_status"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}@{self.bed_id}"


class SeverityChange(models.Model):
    admission = models.ForeignKey(
        Admission, on_delete=models.CASCADE, related_name="severity_changes"
    )
    case = models.ForeignKey("tracing.Case", on_delete=models.PROTECT, related_name="+")
    before = models.CharField(_("before"), max_length=10, blank=True)
    after = models.CharField(_("after"), max_length=10)
    note = models.CharField(_("note"), max_length=200, blank=True)
    changed_at = models.DateTimeField(_("changed"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.before}->{self.after}"


class DischargeTest(models.Model):
    """A nucleic-acid test of a patient towards discharge: a result and, if measured, its Ct."""

    class Result(models.TextChoices):
        NEGATIVE = "negative", _("Negative")
        POSITIVE = "positive", _("Positive")

    admission = models.ForeignKey(Admission, on_delete=models.CASCADE, related_name="tests")
    sampled_at = models.DateTimeField(_("sampled"))
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    ct = models.DecimalField(_("Ct value"), max_digits=4, decimal_places=1, null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["sampled_at", "id"]

    def __str__(self) -> str:
        return f"{self.admission_id} {self.sampled_at:%Y-%m-%d %H:%M}"
