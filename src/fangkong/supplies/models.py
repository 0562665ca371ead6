"""Supplies data: items, warehouses, the stock ledger and its balances, enterprises, requests."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def _path_index(field: str, name: str) -> models.Index:
    return models.Index(fields=[field], name=name, opclasses=["varchar_pattern_ops"])


class Category(models.TextChoices):
    PROTECTION = "protection", _("Protective equipment")
    TESTING = "testing", _("Testing")
    MEDICAL = "medical", _("Medical")
    DISINFECTION = "disinfection", _("Disinfection")
    NECESSITIES = "necessities", _("Daily necessities")


class Item(models.Model):
    """A supply item of the catalogue; masks of different grades are different items."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    grade = models.CharField(_("grade"), max_length=32, blank=True)
    unit = models.CharField(_("unit"), max_length=16)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("supply item")

    def __str__(self) -> str:
        return self.name


class Warehouse(models.Model):
    class Kind(models.TextChoices):
        RESERVE = "reserve", _("Municipal reserve")
        DISTRICT = "district", _("District warehouse")
        HOSPITAL = "hospital", _("Hospital store")
        SITE = "site", _("Site store")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    jpath = models.CharField(max_length=255)

    class Meta:
        ordering = ["jpath", "code"]
        verbose_name = _("warehouse")
        indexes = [_path_index("jpath", "supply_wh_jpath_like")]

    def __str__(self) -> str:
        return self.name


class Movement(models.Model):
    """One immutable line of the stock ledger. `quantity` is the signed change of the balance, so
    a balance is the plain sum of its lines; corrections are new lines, never edits."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        ISSUE = "issue", _("Issue")
        TRANSFER_OUT = "transfer_out", _("Transfer out")
        TRANSFER_IN = "transfer_in", _("Transfer in")
        ADJUSTMENT = "adjustment", _("Stock-take adjustment")

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="movements")
    # The warehouse's path, copied so subtree sums never join the warehouse table.
    jpath = models.CharField(max_length=255)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    quantity = models.BigIntegerField(_("quantity"))
    day = models.DateField(_("day"))
    occurred_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    counterpart = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request = models.ForeignKey(
        "SupplyRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("stock movement")
        indexes = [
            _path_index("jpath", "supply_mv_jpath_like"),
            models.Index(fields=["warehouse", "item"], name="supply_mv_wh_item"),
            # Consumption reads a short window of issues: kind and day first, then the path.
            models.Index(fields=["kind", "day", "jpath"], name="supply_mv_kind_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    (Q(kind__in=["receipt", "transfer_in"]) & Q(quantity__gt=0))
                    | (Q(kind__in=["issue", "transfer_out"]) & Q(quantity__lt=0))
                    | (Q(kind="adjustment") & ~Q(quantity=0))
                ),
                name="supply_mv_sign_by_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} {self.item_id}@{self.warehouse_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("ledger lines are immutable; record a correcting movement instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ledger lines are immutable; record a correcting movement instead")


class Balance(models.Model):
    """The running sum of the ledger per warehouse and item, kept by the services in the same
    transaction as the line; `balances_verify` proves it against the ledger."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="balances")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    quantity = models.BigIntegerField(_("stock"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["warehouse", "item"]
        indexes = [_path_index("jpath", "supply_bal_jpath_like")]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "item"], name="supply_bal_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="supply_bal_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.item_id}@{self.warehouse_id}"


class Enterprise(models.Model):
    """A producer (e.g. a mask plant that restarted production) reporting daily output."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=200, blank=True)
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    jpath = models.CharField(max_length=255)

    class Meta:
        ordering = ["jpath", "code"]
        verbose_name = _("enterprise")
        indexes = [_path_index("jpath", "supply_ent_jpath_like")]

    def __str__(self) -> str:
        return self.name


class Capacity(models.Model):
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="capacities")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    daily_capacity = models.PositiveBigIntegerField(_("daily capacity"))

    class Meta:
        ordering = ["enterprise", "item"]
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "item"], name="supply_cap_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.daily_capacity}/d"


class OutputReport(models.Model):
    """Reported output of one enterprise, item and day; reporting again corrects it."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="outputs")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    day = models.DateField(_("day"))
    quantity = models.PositiveBigIntegerField(_("output"))
    reported_at = models.DateTimeField(auto_now=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-day", "enterprise", "item"]
        verbose_name = _("enterprise output")
        indexes = [_path_index("jpath", "supply_out_jpath_like")]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "item", "day"], name="supply_out_unique_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.item_id}: {self.quantity}"


class SupplyRequest(models.Model):
    """A unit asks for a quantity of an item by a date; the supply officer allocates against it."""

    class Priority(models.IntegerChoices):
        URGENT = 1, _("Urgent")
        HIGH = 2, _("High")
        NORMAL = 3, _("Normal")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PARTIAL = "partial", _("Partly allocated")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")

    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    jpath = models.CharField(max_length=255)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveBigIntegerField(_("quantity"))
    allocated = models.PositiveBigIntegerField(_("allocated"), default=0)
    needed_by = models.DateField(_("needed by"))
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    # Where allocated stock goes: a transfer into this warehouse, or an issue to the unit if empty.
    deliver_to = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["priority", "needed_by", "id"]
        verbose_name = _("supply request")
        indexes = [_path_index("jpath", "supply_req_jpath_like")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="supply_req_positive"),
            models.CheckConstraint(
                condition=Q(allocated__lte=models.F("quantity")), name="supply_req_not_over"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.quantity} {self.item_id}"

    @property
    def remaining(self) -> int:
        return self.quantity - self.allocated


class Allocation(models.Model):
    request = models.ForeignKey(SupplyRequest, on_delete=models.PROTECT, related_name="allocations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveBigIntegerField(_("quantity"))
    movement = models.OneToOneField(Movement, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.quantity} for #{self.request_id}"
