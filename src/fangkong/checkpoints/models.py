"""Checkpoints and observation points, arrival registration, closed-loop transfers."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Checkpoint(models.Model):
    class Kind(models.TextChoices):
        HIGHWAY_EXIT = "highway_exit", _("Highway exit")
        STATION = "station", _("Railway station")
        AIRPORT = "airport", _("Airport")
        PORT = "port", _("Port")
        OBSERVATION = "observation", _("Observation point")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices)
    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    address = models.CharField(_("address"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("checkpoint")
        indexes = [
            models.Index(
                fields=["jpath"], name="checkpoint_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name


class HealthCode(models.TextChoices):
    GREEN = "green", _("Green code")
    YELLOW = "yellow", _("Yellow code")
    RED = "red", _("Red code")


class Disposition(models.TextChoices):
    RELEASE = "release", _("Release")
    TEST = "test", _("Test on the spot")
    HOME_MONITORING = "home_monitoring", _("Home health monitoring")
    HOME_ISOLATION = "home_isolation", _("Home isolation")
    CENTRALIZED = "centralized", _("Centralized isolation")


class Arrival(models.Model):
    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="arrivals")
    # The checkpoint's path: its staff and every level above see the registration.
    jpath = models.CharField(max_length=255)
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    document_type = models.CharField(_("document type"), max_length=20)
    document_number = models.CharField(_("document number"), max_length=32)
    name = models.CharField(_("name"), max_length=60)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    origin = models.CharField(_("coming from"), max_length=200)
    abroad = models.BooleanField(_("from abroad"), default=False)
    risk_area = models.ForeignKey(
        "command.RiskArea", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    risk_level = models.CharField(_("risk level"), max_length=12, blank=True)
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1)
    health_code = models.CharField(_("health code"), max_length=8, choices=HealthCode.choices)
    destination = models.CharField(_("destination address"), max_length=200)
    destination_grid = models.ForeignKey(
        "geo.Jurisdiction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    disposition = models.CharField(_("disposition"), max_length=16, choices=Disposition.choices)
    reasons = models.CharField(_("why"), max_length=200, blank=True)
    order = models.ForeignKey(
        "control.ControlOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(_("registered"), db_index=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-registered_at", "-id"]
        verbose_name = _("arrival")
        indexes = [
            models.Index(fields=["jpath"], name="arrival_jpath", opclasses=["varchar_pattern_ops"])
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.checkpoint_id}"


class Transfer(models.Model):
    """A closed-loop transfer (闭环转运): one vehicle from a pick-up point to an isolation site."""

    class State(models.TextChoices):
        PLANNED = "planned", pgettext_lazy("transfer", "Planned")
        DISPATCHED = "dispatched", pgettext_lazy("transfer", "Dispatched")
        PICKED_UP = "picked_up", _("Picked up")
        ARRIVED = "arrived", _("Arrived")
        DONE = "done", _("Everyone checked in")

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="transfers")
    jpath = models.CharField(max_length=255)
    pickup = models.CharField(_("pick-up"), max_length=200)
    site = models.ForeignKey("control.Site", on_delete=models.PROTECT, related_name="+")
    vehicle = models.CharField(_("vehicle"), max_length=20)
    driver = models.CharField(_("driver"), max_length=60)
    driver_phone = models.CharField(_("driver's phone"), max_length=20, blank=True)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.PLANNED
    )
    created_at = models.DateTimeField(_("created"))
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True, db_index=True)
    picked_up_at = models.DateTimeField(_("picked up"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("transfer")
        indexes = [
            models.Index(fields=["jpath"], name="transfer_jpath", opclasses=["varchar_pattern_ops"])
        ]

    def __str__(self) -> str:
        return f"{self.vehicle} → {self.site_id}"


class Passenger(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="passengers")
    order = models.ForeignKey("control.ControlOrder", on_delete=models.PROTECT, related_name="+")
    arrival = models.ForeignKey(
        Arrival, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)

    class Meta:
        ordering = ["transfer", "id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "order"], name="passenger_once"),
            # A person rides one vehicle at a time: no open second transfer for the same order.
            models.UniqueConstraint(
                fields=["order"], condition=Q(checked_in_at__isnull=True), name="passenger_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transfer_id}/{self.order_id}"
