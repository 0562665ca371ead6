"""Voluntary testing (愿检尽检): each site's schedule, its time slots with their places, residents'
bookings and the one-time codes of the results lookup."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# What a booking's QR code holds before its token: the sampling desk's scanner hands such codes
# to services.booking_scan (registered in registry.py).
BOOKING_PREFIX = "FKV:"


class Schedule(models.Model):
    """Voluntary testing at one sampling site: opening hours, slot length and places per slot."""

    site = models.OneToOneField(
        "testing.Site", on_delete=models.CASCADE, related_name="voluntary_schedule"
    )
    jpath = models.CharField(max_length=255)  # the site's path
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))
    slot_minutes = models.PositiveSmallIntegerField(_("minutes per slot"), default=60)
    capacity = models.PositiveSmallIntegerField(_("places per slot"), default=20)
    active = models.BooleanField(_("taking bookings"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["jpath", "site__code"]
        verbose_name = _("voluntary testing schedule")
        constraints = [
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=10) & Q(slot_minutes__lte=240),
                name="voluntary_schedule_slot_minutes",
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1) & Q(capacity__lte=1000),
                name="voluntary_schedule_capacity",
            ),
            models.CheckConstraint(condition=Q(opens__lt=F("closes")), name="voluntary_hours"),
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="vol_schedule_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return str(self.site)


class Slot(models.Model):
    """A time slot of one site and day. `booked` never exceeds `capacity`: the database refuses."""

    site = models.ForeignKey("testing.Site", on_delete=models.CASCADE, related_name="+")
    jpath = models.CharField(max_length=255)
    day = models.DateField(_("day"))
    starts = models.TimeField(_("slot starts"))
    ends = models.TimeField(_("slot ends"))
    capacity = models.PositiveSmallIntegerField(_("places"))
    booked = models.PositiveSmallIntegerField(_("booked"), default=0)

    class Meta:
        ordering = ["day", "starts", "site_id"]
        verbose_name = _("time slot")
        constraints = [
            models.UniqueConstraint(fields=["site", "day", "starts"], name="voluntary_slot_unique"),
            models.CheckConstraint(
                condition=Q(booked__lte=F("capacity")), name="voluntary_slot_not_overbooked"
            ),
            models.CheckConstraint(condition=Q(starts__lt=F("ends")), name="voluntary_slot_times"),
        ]
        indexes = [
            models.Index(fields=["day", "site"], name="vol_slot_day_site"),
            models.Index(
                fields=["jpath"], name="vol_slot_jpath", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.starts:%H:%M}-{self.ends:%H:%M}"

    @property
    def left(self) -> int:
        return max(0, self.capacity - self.booked)


class Booking(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        SAMPLED = "sampled", _("Sampled")
        CANCELLED = "cancelled", _("Cancelled")

    # The QR code carries it (FKV:<token>); whoever holds it may see and cancel this booking.
    token = models.CharField(max_length=40, unique=True)
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    site = models.ForeignKey("testing.Site", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)  # the site's path: staff see their sites' bookings
    day = models.DateField(_("day"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.BOOKED
    )
    created_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    sampled_at = models.DateTimeField(_("sampled at"), null=True, blank=True)
    tube_barcode = models.CharField(_("tube"), max_length=40, blank=True)

    class Meta:
        ordering = ["day", "slot__starts", "id"]
        verbose_name = _("voluntary test booking")
        constraints = [
            # One live booking per person and day.
            models.UniqueConstraint(
                fields=["person", "day"],
                condition=~Q(status="cancelled"),
                name="voluntary_booking_one_per_day",
            )
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="vol_booking_jpath", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["slot", "status"], name="vol_booking_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.site_id}:{self.person_id}"

    @property
    def qr_payload(self) -> str:
        return f"{BOOKING_PREFIX}{self.token}"


class LookupCode(models.Model):
    """A one-time code for one person's results lookup: expires, single use, few tries."""

    person = models.ForeignKey("people.Person", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["person", "expires_at"], name="vol_code_person")]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.created_at}"
