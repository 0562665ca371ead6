"""Work and school resumption (复工复产, 返工返校返岗): organisations, applications, the workforce."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def _path_index(field: str, name: str) -> models.Index:
    return models.Index(fields=[field], name=name, opclasses=["varchar_pattern_ops"])


class Organisation(models.Model):
    """An enterprise or a school that resumes work. An enterprise is supplies' Enterprise (the
    producers HQ already knows); a school has no counterpart there, so it lives here alone."""

    class Kind(models.TextChoices):
        ENTERPRISE = "enterprise", _("Enterprise")
        SCHOOL = "school", _("School")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    enterprise = models.OneToOneField(
        "supplies.Enterprise",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="resumption",
        verbose_name=_("enterprise"),
    )
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    jpath = models.CharField(max_length=255)
    # The enterprise or school officers (role enterprise_staff) who file for it.
    officers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="resumption_organisations"
    )

    class Meta:
        ordering = ["jpath", "code"]
        verbose_name = _("enterprise or school")
        indexes = [_path_index("jpath", "resum_org_jpath_like")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="enterprise") | Q(enterprise__isnull=True),
                name="resum_org_school_no_enterprise",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Application(models.Model):
    """A resumption application with its prevention plan; the district approves or returns it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting decision")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="applications"
    )
    jpath = models.CharField(max_length=255)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    resume_on = models.DateField(_("resumes on"))
    duty_officer = models.CharField(_("duty officer"), max_length=60)
    duty_phone = models.CharField(_("duty officer's phone"), max_length=20)
    staff_count = models.PositiveIntegerField(_("staff or students"))
    nonlocal_staff = models.PositiveIntegerField(_("of them from elsewhere"))
    canteen = models.CharField(_("canteen arrangements"), max_length=300)
    dormitory = models.CharField(_("dormitory arrangements"), max_length=300)
    masks = models.PositiveIntegerField(_("masks in stock"))
    thermometers = models.PositiveIntegerField(_("thermometers in stock"))
    plan = models.TextField(_("prevention plan"))
    submitted_at = models.DateTimeField(_("submitted"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reasons"), max_length=500, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("resumption application")
        indexes = [_path_index("jpath", "resum_app_jpath_like")]
        constraints = [
            # One live application per organisation: a returned one is revised as a new one.
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(status__in=["pending", "approved"]),
                name="resum_app_one_live",
            ),
            models.CheckConstraint(
                condition=Q(nonlocal_staff__lte=models.F("staff_count")),
                name="resum_app_nonlocal_le_staff",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.resume_on}"


class Worker(models.Model):
    """A member of the workforce (staff or student) registered before or on their return."""

    class Kind(models.TextChoices):
        STAFF = "staff", _("Staff")
        STUDENT = "student", _("Student")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="workers")
    jpath = models.CharField(max_length=255)  # the organisation's
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("staff or student"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=60)
    document_number = models.CharField(_("ID number"), max_length=32)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    origin = models.CharField(_("coming from"), max_length=200)
    arrival_date = models.DateField(_("arrival date"))
    risk_area = models.ForeignKey(
        "command.RiskArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    risk_level = models.CharField(_("risk level"), max_length=12, blank=True)
    order = models.ForeignKey(
        "control.ControlOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(_("registered"))

    class Meta:
        ordering = ["jpath", "organisation", "name", "id"]
        verbose_name = _("returning worker or student")
        indexes = [_path_index("jpath", "resum_worker_jpath_like")]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "document_number"], name="resum_worker_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name
