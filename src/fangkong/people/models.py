"""The population registry: every resident, down to grid and household."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from fangkong.common.keyset import ByteOrder


class DocumentType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    HK_MACAO_PERMIT = "hk_macao", _("HK/Macao permit")
    TAIWAN_PERMIT = "taiwan", _("Taiwan permit")
    FOREIGN_RESIDENT = "foreign_resident", _("Foreign permanent resident ID")
    OTHER = "other", _("Other")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Tag(models.IntegerChoices):
    """Stored as bits of one integer, so tag filters run on SQLite and PostgreSQL alike."""

    CHRONIC_DISEASE = 1, _("Chronic disease")
    PREGNANT = 2, _("Pregnant")
    DISABLED = 4, _("Disabled")
    BEDRIDDEN = 8, _("Bedridden")
    LIVING_ALONE = 16, _("Living alone")


class Person(models.Model):
    document_type = models.CharField(
        _("document type"),
        max_length=20,
        choices=DocumentType.choices,
        default=DocumentType.RESIDENT_ID,
    )
    document_number = models.CharField(_("document number"), max_length=32)
    # The 15-digit GB 11643-1989 number as imported, when document_number is its 18-digit form.
    # A database default too: the synthetic city and other set-based writers leave it out.
    document_number_legacy = models.CharField(
        _("15-digit document number"), max_length=15, blank=True, default="", db_default=""
    )
    name = models.CharField(_("name"), max_length=60)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    grid = models.ForeignKey(
        "geo.Jurisdiction",
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("grid"),
    )
    # The grid's materialised path, copied so that scoping people is one index range scan.
    jpath = models.CharField(max_length=255)
    household = models.ForeignKey(
        "geo.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    tags = models.PositiveIntegerField(_("tags"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                fields=["document_type", "document_number"], name="person_document_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["jpath"], name="person_jpath_like", opclasses=["varchar_pattern_ops"]
            ),
            # Lab files, scanners and checkpoints look people up by number alone.
            models.Index(fields=["document_number"], name="person_document_number"),
            models.Index(fields=["name"], name="person_name"),
            models.Index(fields=["phone"], name="person_phone"),
            # The list's keyset order; a subtree is one range of it (fangkong.common.keyset).
            models.Index(ByteOrder("jpath"), ByteOrder("name"), "id", name="person_keyset"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tag_list(self) -> list[Tag]:
        return [tag for tag in Tag if self.tags & tag.value]
