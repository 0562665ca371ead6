"""Reads of resumption, scoped first: an officer sees their own organisations, HQ its subtree."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from fangkong.common import errors
from fangkong.common.scope import access, path_within, scoped
from fangkong.control.models import ControlOrder
from fangkong.geo.models import Jurisdiction, Level

from . import roles
from .models import Application, Organisation, Worker


def _scope(qs: QuerySet, actor, officers: str) -> QuerySet:
    if not roles.can_read(actor):
        return qs.none()
    qs = scoped(qs, actor)
    if roles.is_officer_only(actor):
        qs = qs.filter(**{officers: actor})
    return qs


def organisation_list(*, actor) -> QuerySet[Organisation]:
    return _scope(Organisation.objects.select_related("jurisdiction"), actor, "officers")


def access_organisation(actor, pk) -> Organisation:
    return access(organisation_list(actor=actor), actor, pk=pk)


def application_list(*, actor, status: str | None = None) -> QuerySet[Application]:
    qs = _scope(
        Application.objects.select_related("organisation", "decided_by"),
        actor,
        "organisation__officers",
    )
    return qs.filter(status=status) if status else qs


def access_application(actor, pk) -> Application:
    return access(application_list(actor=actor), actor, pk=pk)


def worker_list(*, actor, organisation: Organisation | None = None) -> QuerySet[Worker]:
    qs = _scope(
        Worker.objects.select_related("organisation", "order", "risk_area"),
        actor,
        "organisation__officers",
    )
    return qs.filter(organisation=organisation) if organisation is not None else qs


def access_worker(actor, pk) -> Worker:
    return access(worker_list(actor=actor), actor, pk=pk)


def access_node(actor, code: str | None) -> Jurisdiction:
    """The node asked for by code (default: the actor's own), fetched through the guard: a code
    outside the actor's subtree, or one that names nothing, is a 404 before any work."""
    if code:
        return access(Jurisdiction.objects.select_related("parent"), actor, "path", code=code)
    node = getattr(actor, "jurisdiction", None)
    if node is None:
        raise errors.NotFound()
    return node


def node_children(*, actor, node: Jurisdiction) -> QuerySet[Jurisdiction]:
    """The node's children the actor may open, by code."""
    return scoped(Jurisdiction.objects.filter(parent=node), actor, "path").order_by("code")


def node_parent(*, actor, node: Jurisdiction) -> Jurisdiction | None:
    """The node's parent when the actor may open it (the way up stops at the actor's own node)."""
    parent = node.parent
    return parent if parent is not None and path_within(actor, parent.path) else None


def district_status(*, actor, node: Jurisdiction | None = None) -> dict:
    """Per district of the node (or the node itself at district level and below): applications,
    approved, awaiting, returned; staff registered, back (arrived by today), under control (an
    open order). Two aggregates a district (a city has about ten), each a subtree range scan."""
    node = node or getattr(actor, "jurisdiction", None)
    if node is None or not path_within(actor, node.path):
        raise errors.NotFound()
    levels = list(Level.values)
    if levels.index(node.level) < levels.index(Level.DISTRICT):
        areas = list(
            Jurisdiction.objects.filter(path__startswith=node.path, level=Level.DISTRICT).order_by(
                "path"
            )
        )
    else:
        areas = [node]
    today = timezone.localdate()
    apps_ = application_list(actor=actor).filter(jpath__startswith=node.path)
    workers = worker_list(actor=actor).filter(jpath__startswith=node.path)
    rows = []
    for area in areas:
        a = apps_.filter(jpath__startswith=area.path).aggregate(
            applications=Count("id"),
            approved=Count("id", filter=Q(status=Application.Status.APPROVED)),
            pending=Count("id", filter=Q(status=Application.Status.PENDING)),
            returned=Count("id", filter=Q(status=Application.Status.RETURNED)),
        )
        w = workers.filter(jpath__startswith=area.path).aggregate(
            registered=Count("id"),
            back=Count("id", filter=Q(arrival_date__lte=today)),
            from_risk_areas=Count("id", filter=~Q(risk_level="")),
            under_control=Count("id", filter=Q(order__status=ControlOrder.Status.OPEN)),
        )
        rows.append({"code": area.code, "name": area.name, **a, **w})
    total = {
        key: sum(r[key] for r in rows)
        for key in (
            "applications",
            "approved",
            "pending",
            "returned",
            "registered",
            "back",
            "from_risk_areas",
            "under_control",
        )
    }
    return {"node": node, "rows": rows, "total": total}
