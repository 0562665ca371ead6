"""Reads of the audit log, for auditors, within their subtree."""

from django.db.models import QuerySet

from fangkong.accounts.roles import can_read_audit
from fangkong.common import errors
from fangkong.common.scope import scoped

from .models import AuditEntry


def audit_list(*, actor, filters: dict | None = None) -> QuerySet[AuditEntry]:
    if not can_read_audit(actor):
        raise errors.Forbidden()
    filters = filters or {}
    qs = scoped(AuditEntry.objects.all(), actor, "jurisdiction_path")
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("actor"):
        qs = qs.filter(actor_username=filters["actor"])
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=filters["object_id"])
    if filters.get("since"):
        qs = qs.filter(at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(at__lt=filters["until"])
    return qs
