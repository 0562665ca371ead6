"""Raising and acknowledging alerts in the one alert centre."""

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record

from . import registry
from .models import Alert
from .scope import access, scoped


def alert_raise(
    *,
    kind: str,
    title: str,
    jurisdiction_path: str,
    level: str = Alert.Level.WARNING,
    body: str = "",
    obj=None,
    dedupe_key: str | None = None,
) -> Alert:
    fields = dict(
        kind=kind,
        title=title[:200],
        body=body,
        level=level,
        jurisdiction_path=jurisdiction_path,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        return Alert.objects.create(**fields)
    try:
        with transaction.atomic():
            return Alert.objects.create(**fields)
    except IntegrityError:
        return Alert.objects.get(dedupe_key=dedupe_key)


def alert_acknowledge(*, actor, alert_id: int) -> Alert:
    alert = access(Alert.objects.all(), actor, "jurisdiction_path", pk=alert_id)
    if alert.acknowledged_at is None:
        with transaction.atomic():
            alert.acknowledged_at = timezone.now()
            alert.acknowledged_by = actor
            alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
            audit_record(
                actor=actor,
                action=Action.UPDATE,
                obj=alert,
                jurisdiction_path=alert.jurisdiction_path,
                changes={"acknowledged_at": [None, alert.acknowledged_at.isoformat()]},
            )
    return alert


def alert_list(*, actor, open_only: bool = False, kind: str | None = None) -> QuerySet[Alert]:
    qs = scoped(Alert.objects.all(), actor, "jurisdiction_path")
    if open_only:
        qs = qs.filter(acknowledged_at__isnull=True)
    return qs.filter(kind=kind) if kind else qs


def alert_kinds(*, actor) -> list[tuple[str, int]]:
    """(kind, label, count) of the open alerts in the actor's subtree, for the filter bar."""
    rows = (
        alert_list(actor=actor, open_only=True)
        .order_by()
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by("-n", "kind")
    )
    return [(kind, registry.alert_kind_label(kind), n) for kind, n in rows]
