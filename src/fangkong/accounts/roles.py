"""Roles, working groups and what each may do; the one place permissions are decided."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMANDER = "commander", _("Commander")
    HQ_STAFF = "hq_staff", _("HQ staff")
    EPIDEMIOLOGIST = "epidemiologist", _("Epidemiologist")
    GRID_WORKER = "grid_worker", _("Grid worker")
    SAMPLER = "sampler", _("Sampler")
    LAB_STAFF = "lab_staff", _("Lab staff")
    ISOLATION_STAFF = "isolation_staff", _("Isolation-site staff")
    HOSPITAL_STAFF = "hospital_staff", _("Hospital staff")
    CHECKPOINT_STAFF = "checkpoint_staff", _("Checkpoint staff")
    SUPPLY_OFFICER = "supply_officer", _("Supply officer")
    INSPECTOR = "inspector", _("Inspector")
    PLACE_STAFF = "place_staff", _("Place staff")
    VACCINATOR = "vaccinator", _("Vaccination staff")
    ENTERPRISE_STAFF = "enterprise_staff", _("Enterprise or school officer")
    AUDITOR = "auditor", _("Auditor")
    ADMIN = "admin", _("Administrator")


class WorkingGroup(models.TextChoices):
    TRACING = "tracing", _("Tracing")
    TESTING = "testing", _("Testing")
    TREATMENT = "treatment", _("Treatment")
    ISOLATION = "isolation", _("Isolation")
    SUPPLIES = "supplies", _("Supplies")
    PUBLICITY = "publicity", _("Publicity")
    INSPECTION = "inspection", _("Inspection")


# Roles whose work needs full ID numbers and phones (calling, verifying identity on the spot).
PII_ROLES = {
    Role.EPIDEMIOLOGIST,
    Role.GRID_WORKER,
    Role.SAMPLER,
    Role.ISOLATION_STAFF,
    Role.HOSPITAL_STAFF,
    Role.CHECKPOINT_STAFF,
    Role.ADMIN,
}
PII_WORKING_GROUPS = {WorkingGroup.TRACING, WorkingGroup.ISOLATION, WorkingGroup.TREATMENT}
IMPORT_ROLES = {Role.ADMIN, Role.HQ_STAFF, Role.GRID_WORKER}
AUDIT_ROLES = {Role.AUDITOR, Role.ADMIN}
# Roles that never look people up: they work with goods and output, not persons.
NO_PEOPLE_ROLES = {Role.SUPPLY_OFFICER, Role.ENTERPRISE_STAFF}


def can_see_pii(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role == Role.HQ_STAFF:
        return user.working_group in PII_WORKING_GROUPS
    return user.role in PII_ROLES


def can_import_people(user) -> bool:
    return user.is_authenticated and user.role in IMPORT_ROLES


def can_read_audit(user) -> bool:
    return user.is_authenticated and user.role in AUDIT_ROLES


def can_search_people(user) -> bool:
    """The population pages: everyone whose work concerns persons."""
    return user.is_authenticated and (user.is_superuser or user.role not in NO_PEOPLE_ROLES)


def can_acknowledge_alerts(user) -> bool:
    """Acknowledging a group of alerts is work on them; auditors only read."""
    return user.is_authenticated and user.role != Role.AUDITOR
