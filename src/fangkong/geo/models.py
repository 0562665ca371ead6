"""The jurisdiction tree (province down to grid) and the buildings and households inside grids."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    DISTRICT = "district", _("District/County")
    STREET = "street", _("Street/Town")
    COMMUNITY = "community", _("Community/Village")
    GRID = "grid", _("Grid")


LEVEL_ORDER = [choice.value for choice in Level]


class Jurisdiction(models.Model):
    """A node of the tree. `path` is the materialised path '/code/code/.../', so a subtree is one
    index range scan (path LIKE 'prefix%') instead of a recursive walk."""

    code = models.CharField(_("code"), max_length=24, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    level = models.CharField(_("level"), max_length=16, choices=Level.choices)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    population = models.PositiveIntegerField(_("declared population"), null=True, blank=True)
    outline = models.JSONField(_("GeoJSON outline"), null=True, blank=True)
    path = models.CharField(max_length=255, unique=True)
    depth = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["path"]
        verbose_name = _("jurisdiction")
        verbose_name_plural = _("jurisdictions")
        indexes = [
            models.Index(
                fields=["path"], name="geo_jur_path_like", opclasses=["varchar_pattern_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_grid(self) -> bool:
        return self.level == Level.GRID


class Building(models.Model):
    grid = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="buildings")
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("building")

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="households")
    grid = models.ForeignKey(Jurisdiction, on_delete=models.PROTECT, related_name="households")
    code = models.CharField(_("code"), max_length=40, unique=True)
    room = models.CharField(_("room"), max_length=20)
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("household")

    def __str__(self) -> str:
        return self.address or self.code
