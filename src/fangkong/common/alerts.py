"""Raising and acknowledging alerts in the one alert centre."""

from django.apps import apps
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.accounts.roles import can_acknowledge_alerts
from fangkong.audit.models import Action
from fangkong.audit.services import audit_record

from . import registry
from .errors import NotFound
from .models import Alert
from .scope import access, path_within, require, scoped


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


def _group_rows(*, actor, kind: str | None = None) -> QuerySet:
    return (
        alert_list(actor=actor, open_only=True, kind=kind)
        .order_by()
        .values_list("kind", "jurisdiction_path")
        .annotate(n=Count("id"), latest=Max("created_at"))
        .order_by("-n", "kind", "jurisdiction_path")
    )


def _group_dicts(rows) -> list[dict]:
    names = _node_names({path for _kind, path, _n, _latest in rows})
    return [
        {
            "kind": kind_,
            "label": registry.alert_kind_label(kind_),
            "path": path,
            "node": names.get(path, path),
            "count": n,
            "latest": latest,
        }
        for kind_, path, n, latest in rows
    ]


def alert_groups(*, actor, kind: str | None = None) -> list[dict]:
    """Open alerts of the actor's subtree grouped by kind and node, largest first: one row for
    the 300 "missed health check" alerts of one grid instead of 300 rows."""
    return _group_dicts(list(_group_rows(actor=actor, kind=kind)))


def alert_groups_page(*, actor, kind: str | None = None, number=None, per_page: int = 50):
    """One page of `alert_groups`, cut by the database (LIMIT/OFFSET over the groups): the
    city's ten thousand grid groups are never all read, nor all their node names looked up."""
    page = Paginator(_group_rows(actor=actor, kind=kind), per_page).get_page(number)
    page.object_list = _group_dicts(list(page.object_list))
    return page


def _node_names(node_paths: set[str]) -> dict[str, str]:
    # The jurisdiction tree is a domain model; the kernel reads its names through the app
    # registry instead of importing geo (common.tests.test_layers).
    if not node_paths:
        return {}
    jurisdiction = apps.get_model("geo", "Jurisdiction")
    return dict(jurisdiction.objects.filter(path__in=node_paths).values_list("path", "name"))


def alert_group_acknowledge(*, actor, kind: str, jurisdiction_path: str) -> int:
    """Acknowledge every open alert of one kind at one node of the actor's subtree; returns how
    many. A node outside the subtree is 404 (as a single alert is), never a silent zero."""
    require(actor, can_acknowledge_alerts)
    if kind not in registry.alert_kinds() or not path_within(actor, jurisdiction_path):
        raise NotFound(_("No such alert group in your jurisdiction."))
    with transaction.atomic():
        qs = alert_list(actor=actor, open_only=True, kind=kind).filter(
            jurisdiction_path=jurisdiction_path
        )
        ids = list(qs.values_list("id", flat=True))
        if not ids:
            raise NotFound(_("No such alert group in your jurisdiction."))
        now = timezone.now()
        n = Alert.objects.filter(id__in=ids).update(acknowledged_at=now, acknowledged_by=actor)
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            object_type="common.alert",
            object_id=f"{kind}@{jurisdiction_path}"[:64],
            jurisdiction_path=jurisdiction_path,
            changes={"acknowledged": [None, n], "kind": [None, kind], "ids": [None, ids[:200]]},
        )
    return n
