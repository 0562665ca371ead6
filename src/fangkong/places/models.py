"""Key places (重点场所), their staff, duty checks, closure orders and venue-code scans (场所码)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PlaceKind(models.TextChoices):
    MARKET = "market", _("Market or farmers' market")
    SUPERMARKET = "supermarket", _("Supermarket")
    MALL = "mall", _("Shopping mall")
    STATION = "station", _("Station")
    HOTEL = "hotel", _("Hotel")
    RESTAURANT = "restaurant", _("Restaurant")
    SCHOOL = "school", _("School")
    ELDER_CARE = "elder_care", _("Elder-care home")
    HOSPITAL = "hospital", _("Hospital or clinic")
    WORKPLACE = "workplace", _("Workplace")
    COLD_CHAIN = "cold_chain", _("Cold-chain warehouse")
    RELIGIOUS = "religious", _("Religious site")
    ENTERTAINMENT = "entertainment", _("Entertainment venue")
    OTHER = "other", _("Other place")


class Place(models.Model):
    # The place number printed on the poster (the node's code and a serial).
    code = models.CharField(_("place number"), max_length=40, unique=True)
    # The key in the venue code's URL: random, so scan addresses cannot be enumerated.
    token = models.CharField(max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_en = models.CharField(_("English name"), max_length=120, blank=True)
    place_kind = models.CharField(_("kind"), max_length=14, choices=PlaceKind.choices)
    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    address = models.CharField(_("address"), max_length=200, blank=True)
    owner = models.CharField(_("owner or operator"), max_length=120, blank=True)
    contact_name = models.CharField(_("contact"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    capacity = models.PositiveIntegerField(_("capacity (people at once)"), default=0)
    active = models.BooleanField(_("active"), default=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="staffed_places", verbose_name=_("staff")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("key place")
        verbose_name_plural = _("key places")
        indexes = [
            models.Index(fields=["jpath"], name="place_jpath", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["place_kind"], name="place_kind"),
        ]

    def __str__(self) -> str:
        return self.name


class Measure(models.TextChoices):
    CLOSED = "closed", _("Closed")
    RESTRICTED = "restricted", _("Restricted capacity")


class OrderSource(models.TextChoices):
    MANUAL = "manual", _("Ordered by command")
    RISK_AREA = "risk_area", _("Risk area")
    RESPONSE_LEVEL = "response_level", _("Response level")


class PlaceOrder(models.Model):
    """A closure or capacity restriction of one place; open while lifted_at is empty."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="orders")
    jpath = models.CharField(max_length=255)
    measure = models.CharField(_("measure"), max_length=10, choices=Measure.choices)
    # Restricted: the share of the capacity allowed in at once.
    capacity_percent = models.PositiveSmallIntegerField(_("capacity allowed (%)"), default=0)
    source = models.CharField(_("ordered by"), max_length=14, choices=OrderSource.choices)
    risk_area = models.ForeignKey(
        "command.RiskArea", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    response_level = models.ForeignKey(
        "command.ResponseLevel", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    issued_at = models.DateTimeField(_("issued"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("place order")
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity_percent__lte=100), name="placeorder_percent_range"
            ),
            # One open order per place: a stricter one replaces the milder.
            models.UniqueConstraint(
                fields=["place"], condition=Q(lifted_at__isnull=True), name="placeorder_one_open"
            ),
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="placeorder_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.place} · {self.get_measure_display()}"


class Duty(models.TextChoices):
    SCAN = "scan", _("Venue-code scan at the door")
    TEMPERATURE = "temperature", _("Temperature check")
    MASK = "mask", _("Masks worn")
    CAPACITY = "capacity", _("Capacity limit kept")
    DISINFECTION = "disinfection", _("Daily disinfection")
    STAFF_TEST = "staff_test", _("Staff tested on schedule")


class DutyCheck(models.Model):
    """One duty of one place on one day, as its staff (or an inspector) recorded it."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="duty_checks")
    jpath = models.CharField(max_length=255)
    day = models.DateField(_("day"))
    duty = models.CharField(_("duty"), max_length=14, choices=Duty.choices)
    done = models.BooleanField(_("done"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded"))

    class Meta:
        ordering = ["-day", "place_id", "duty"]
        verbose_name = _("duty check")
        constraints = [
            models.UniqueConstraint(fields=["place", "day", "duty"], name="dutycheck_one_per_day")
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="dutycheck_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.place} · {self.day} · {self.duty}"


class Scan(models.Model):
    """A visitor's entry at a place (person, place, time), kept about 21 days.

    The visitor gives a phone number or an ID number; `person` is the registry person it
    matched when scanned (empty when it matched nobody: the number is still a lead key, and
    the co-location run matches it again against the registry of that day)."""

    id = models.BigAutoField(primary_key=True)
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="scans")
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    person = models.ForeignKey(
        "people.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,  # the hot path inserts without a lock on the person row
    )
    scanned_at = models.DateTimeField(_("entered"))
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        ordering = ["-scanned_at", "-id"]
        verbose_name = _("venue scan")
        indexes = [
            models.Index(fields=["place", "scanned_at"], name="scan_place_time"),
            models.Index(fields=["person", "scanned_at"], name="scan_person_time"),
            models.Index(fields=["phone", "scanned_at"], name="scan_phone_time"),
            models.Index(fields=["id_number", "scanned_at"], name="scan_idnum_time"),
        ]

    def __str__(self) -> str:
        return f"{self.place_id} · {self.scanned_at:%Y-%m-%d %H:%M}"


class PlaceInspection(models.Model):
    """An inspection of command that targets one place (and so its duties); the link is kept
    here so that command's models stay as they are."""

    inspection = models.OneToOneField(
        "command.Inspection", on_delete=models.CASCADE, related_name="place_link"
    )
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="inspections")
    jpath = models.CharField(max_length=255)

    class Meta:
        verbose_name = _("place inspection")
        indexes = [
            models.Index(
                fields=["jpath"], name="placeinsp_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.place} · {self.inspection_id}"
