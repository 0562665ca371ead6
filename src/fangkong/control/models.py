"""Control of key persons: policies, control orders, their tests and health checks, isolation rooms."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    CLOSE_CONTACT = "close_contact", _("Close contact")
    SECONDARY_CONTACT = "secondary_contact", _("Secondary contact")
    INBOUND = "inbound", _("Inbound arrival")
    RISK_AREA = "risk_area", _("Risk-area arrival")
    RISK_AREA_HIGH = "risk_area_high", _("High-risk-area arrival")
    POSITIVE_POOL = "positive_pool", _("Positive-pool member")
    RELEASED = "released", _("Released from isolation")
    RETURNING = "returning", _("Returning worker or student")


class Measure(models.TextChoices):
    CENTRALIZED = "centralized", _("Centralized isolation")
    HOME_ISOLATION = "home_isolation", _("Home isolation")
    HOME_MONITORING = "home_monitoring", _("Home health monitoring")
    SELF_MONITORING = "self_monitoring", _("Daily self-monitoring")


class Policy(models.Model):
    """One version of a named policy; editing makes a new version, orders keep theirs."""

    code = models.SlugField(_("code"), max_length=40)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=120)
    preset = models.BooleanField(_("national preset"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "version"]
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="control_policy_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class PolicyStep(models.Model):
    """Step `seq` of a category's rule: a measure for `days`, tests on days of this step."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="steps")
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    seq = models.PositiveSmallIntegerField(_("step"))
    measure = models.CharField(_("measure"), max_length=20, choices=Measure.choices)
    days = models.PositiveSmallIntegerField(_("days"))
    # Day numbers counted from the first day of this step (1 = its first day).
    test_days = models.JSONField(_("test days"), default=list, blank=True)

    class Meta:
        ordering = ["policy", "category", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "category", "seq"], name="control_policystep_seq"
            ),
            models.CheckConstraint(condition=Q(days__gte=1), name="control_policystep_days"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.seq}: {self.measure} {self.days}d"


class JurisdictionSetting(models.Model):
    """A node's choice of policy and its room reserve target; the nearest ancestor's applies."""

    jurisdiction = models.OneToOneField(
        "geo.Jurisdiction", on_delete=models.CASCADE, related_name="control_setting"
    )
    path = models.CharField(max_length=255)
    policy = models.ForeignKey(Policy, null=True, blank=True, on_delete=models.PROTECT)
    reserve_target = models.PositiveIntegerField(
        _("reserve target (rooms per 10,000 residents)"), default=20
    )

    def __str__(self) -> str:
        return self.path


class Site(models.Model):
    class Kind(models.TextChoices):
        HOTEL = "hotel", _("Hotel")
        PURPOSE_BUILT = "purpose_built", _("Purpose-built")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.HOTEL)
    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT)
    jpath = models.CharField(max_length=255)
    address = models.CharField(_("address"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("capacity"), default=0)
    reserve_target = models.PositiveIntegerField(_("rooms to hold ready"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("isolation site")
        indexes = [
            models.Index(
                fields=["jpath"], name="control_site_jpath", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return self.name


class SiteContact(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=60)
    duty = models.CharField(_("duty"), max_length=60, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    def __str__(self) -> str:
        return self.name


class Floor(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="floors")
    number = models.SmallIntegerField(_("floor"))

    class Meta:
        ordering = ["site", "number"]
        constraints = [
            models.UniqueConstraint(fields=["site", "number"], name="control_floor_number_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.site_id}/{self.number}"


class Room(models.Model):
    class Zone(models.TextChoices):
        CLEAN = "clean", _("Clean zone")
        BUFFER = "buffer", _("Buffer zone")
        CONTAMINATED = "contaminated", _("Contaminated zone")

    class State(models.TextChoices):
        VACANT = "vacant", _("Vacant")
        OCCUPIED = "occupied", _("Occupied")
        CLEANING = "cleaning", _("Cleaning/disinfection")
        OUT_OF_SERVICE = "out_of_service", _("Out of service")

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rooms")
    floor = models.ForeignKey(Floor, on_delete=models.CASCADE, related_name="rooms")
    number = models.CharField(_("room"), max_length=12)
    zone = models.CharField(
        _("zone"), max_length=14, choices=Zone.choices, default=Zone.CONTAMINATED
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.VACANT)
    family_allowed = models.BooleanField(_("family allowed"), default=False)

    class Meta:
        ordering = ["site", "floor__number", "number"]
        constraints = [
            models.UniqueConstraint(fields=["site", "number"], name="control_room_number_uniq")
        ]
        indexes = [models.Index(fields=["state", "site"], name="control_room_state")]

    def __str__(self) -> str:
        return f"{self.site.code}-{self.number}"


class ControlOrder(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RELEASED = "released", _("Released")
        CANCELLED = "cancelled", _("Cancelled")

    person = models.ForeignKey("people.Person", on_delete=models.PROTECT, related_name="+")
    # The person's grid path: the grid worker and every level above see the order.
    jpath = models.CharField(max_length=255)
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    start = models.DateTimeField(_("start"))
    # Day 1 of the order: the local (Asia/Shanghai) date of `start`.
    start_date = models.DateField(_("day 1"))
    end_date = models.DateField(_("last day"))
    # The measure in force today, kept current by control_orders_advance (one UPDATE a day).
    measure = models.CharField(_("measure"), max_length=20, choices=Measure.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    source = models.CharField(_("source"), max_length=60, blank=True)
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The version of the person's self-report link: revoking the link moves it on, so links
    # signed with an older version stop opening (services.selfreport_revoke).
    self_report_version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-start", "-id"]
        verbose_name = _("control order")
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="open"), name="control_one_open_order"
            )
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="control_order_jpath", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["status", "category"], name="control_order_status"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} #{self.pk}"


class OrderStep(models.Model):
    order = models.ForeignKey(ControlOrder, on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveSmallIntegerField()
    measure = models.CharField(max_length=20, choices=Measure.choices)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["order", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["order", "seq"], name="control_orderstep_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.seq}"


class ControlTest(models.Model):
    class Result(models.TextChoices):
        PENDING = "pending", _("Pending")
        NEGATIVE = "negative", _("Negative")
        POSITIVE = "positive", _("Positive")

    order = models.ForeignKey(ControlOrder, on_delete=models.CASCADE, related_name="tests")
    day = models.PositiveSmallIntegerField(_("day of the order"))
    scheduled_date = models.DateField(_("scheduled"))
    result = models.CharField(
        _("result"), max_length=10, choices=Result.choices, default=Result.PENDING
    )
    resulted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "day"]
        constraints = [models.UniqueConstraint(fields=["order", "day"], name="control_test_day")]
        indexes = [models.Index(fields=["scheduled_date", "result"], name="control_test_due")]

    def __str__(self) -> str:
        return f"{self.order_id} day {self.day}"


class HealthCheck(models.Model):
    class Source(models.TextChoices):
        WORKER = "worker", _("Grid worker")
        SELF = "self", _("Self-reported")

    order = models.ForeignKey(ControlOrder, on_delete=models.CASCADE, related_name="checks")
    day = models.DateField(_("day"))
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1)
    symptoms = models.CharField(_("symptoms"), max_length=200, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["order", "day"], name="control_check_day")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.day}"


class Stay(models.Model):
    """One person's time in one room: assignment, check-in, check-out."""

    order = models.ForeignKey(ControlOrder, on_delete=models.CASCADE, related_name="stays")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="stays")
    assigned_at = models.DateTimeField()
    checked_in_at = models.DateTimeField(null=True, blank=True, db_index=True)
    checked_out_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.order_id} in {self.room_id}"
