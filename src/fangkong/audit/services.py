"""Writing the audit log. Services call these inside their own transaction."""

from django.db import models

from .context import current_ip
from .models import Action, AuditEntry


def audit_fields(actor) -> dict:
    """Who and from where, for entries built in bulk (AuditEntry(**audit_fields(actor), ...))."""
    ip = current_ip()
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {
            "actor": None,
            "actor_username": getattr(actor, "username", "") or "system",
            "ip": ip,
        }
    return {"actor": actor, "actor_username": actor.username, "ip": ip}


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    jurisdiction_path: str = "",
    changes: dict | None = None,
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
        jurisdiction_path = (
            jurisdiction_path or getattr(obj, "jpath", "") or getattr(obj, "path", "")
        )
    return AuditEntry.objects.create(
        **audit_fields(actor),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        jurisdiction_path=jurisdiction_path,
        changes=changes or {},
    )


def diff(before: dict, after: dict) -> dict:
    """Changed fields as {field: [before, after]}, values made JSON-safe."""
    return {
        key: [_jsonable(before.get(key)), _jsonable(after.get(key))]
        for key in after
        if before.get(key) != after.get(key)
    }


def _jsonable(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return value.pk
    return str(value)


def audit_created(*, actor, obj, fields: dict) -> AuditEntry:
    return audit_record(actor=actor, action=Action.CREATE, obj=obj, changes=diff({}, fields))


def audit_updated(*, actor, obj, before: dict, after: dict) -> AuditEntry | None:
    changes = diff(before, after)
    if not changes:
        return None
    return audit_record(actor=actor, action=Action.UPDATE, obj=obj, changes=changes)


def audit_deleted(*, actor, obj) -> AuditEntry:
    return audit_record(actor=actor, action=Action.DELETE, obj=obj)


def audit_pii_view(*, actor, obj, fields: list[str]) -> AuditEntry:
    return audit_record(actor=actor, action=Action.VIEW_PII, obj=obj, changes={"fields": fields})
