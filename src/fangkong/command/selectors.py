"""Reads of the command centre, scoped to the actor's subtree first."""

from __future__ import annotations

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Length
from django.utils import timezone

from fangkong.common import errors, paths
from fangkong.common.scope import actor_path, fetch, scope_q, scoped
from fangkong.geo.models import Jurisdiction

from .models import (
    SEVERITY,
    Bulletin,
    DailyReport,
    Finding,
    Inspection,
    Proposal,
    ResponseLevel,
    RiskArea,
    Task,
    Unit,
)


def _either(actor, *fields: str) -> Q:
    prefix = actor_path(actor)
    if prefix is None:
        return Q(pk__in=[])
    q = Q()
    for field in fields:
        q |= scope_q(actor, field)
    return q


# --- tasks -----------------------------------------------------------------------------------


def task_list(*, actor, now=None) -> QuerySet[Task]:
    """Tasks the actor's subtree dispatched or received, overdue first, then by deadline."""
    now = now or timezone.now()
    return (
        Task.objects.filter(_either(actor, "dispatcher_path", "assignee_path"))
        .select_related("assignee_unit", "assignee_node", "assignee_user", "dispatcher")
        .annotate(
            overdue=Case(
                When(state__in=Task.ACTIVE, deadline__lt=now, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("-overdue", "deadline", "id")
    )


def task_board(*, actor, now=None) -> dict[str, QuerySet[Task]]:
    """The two columns of the board: what my unit or I must do, and what I dispatched."""
    tasks = task_list(actor=actor, now=now)
    mine = Q(assignee_user=actor)
    if actor.jurisdiction_id:
        mine |= Q(assignee_node_id=actor.jurisdiction_id)
        unit_q = Q(assignee_unit__jurisdiction_id=actor.jurisdiction_id)
        if actor.working_group:
            unit_q &= Q(assignee_unit__working_group__in=["", actor.working_group])
        mine |= unit_q
    return {
        "assigned": tasks.filter(mine, state__in=Task.ACTIVE),
        "dispatched": tasks.filter(dispatcher=actor),
    }


def access_task(actor, task_id: int) -> Task:
    return fetch(task_list(actor=actor), pk=task_id)


def access_task_update(actor, task_id: int, update_id: int):
    """A feedback entry of a task the actor sees (its attachment is downloaded through this)."""
    task = access_task(actor, task_id)
    update = task.updates.filter(pk=update_id).first()
    if update is None:
        raise errors.NotFound
    return update


def unit_list(*, actor) -> QuerySet[Unit]:
    return scoped(Unit.objects.select_related("jurisdiction"), actor, "path")


def node_within(actor, code: str) -> Jurisdiction:
    node = Jurisdiction.objects.filter(code=code).first()
    prefix = actor_path(actor)
    if node is None or not paths.within(node.path, prefix):
        raise errors.NotFound
    return node


# --- inspections -----------------------------------------------------------------------------


def inspection_list(*, actor) -> QuerySet[Inspection]:
    return scoped(Inspection.objects.select_related("inspector", "jurisdiction"), actor, "jpath")


def access_inspection(actor, inspection_id: int) -> Inspection:
    return fetch(inspection_list(actor=actor), pk=inspection_id)


def finding_list(*, actor, open_only: bool = False) -> QuerySet[Finding]:
    """Findings the actor must rectify (responsible side) or must check (inspected place)."""
    qs = Finding.objects.filter(_either(actor, "jpath", "inspection_path")).select_related(
        "inspection", "responsible_unit", "responsible_node", "item"
    )
    if open_only:
        qs = qs.exclude(state=Finding.State.ACCEPTED)
    return qs


def access_finding(actor, finding_id: int) -> Finding:
    return fetch(finding_list(actor=actor), pk=finding_id)


# --- response levels and risk areas -----------------------------------------------------------


def response_level_history(*, actor) -> QuerySet[ResponseLevel]:
    """Declarations for the actor's node and every node above it (the city's level binds a
    district), and those inside its subtree."""
    prefix = actor_path(actor)
    if prefix is None:
        return ResponseLevel.objects.none()
    if prefix == "/":
        qs = ResponseLevel.objects.all()
    else:
        qs = ResponseLevel.objects.filter(
            Q(jpath__in=paths.ancestors(prefix)) | Q(jpath__startswith=prefix)
        )
    return qs.select_related("jurisdiction", "declared_by")


def response_level_current(*, actor) -> ResponseLevel | None:
    """The level in force for the actor: the latest declaration on the nearest node above."""
    prefix = actor_path(actor)
    if prefix is None:
        return None
    qs = ResponseLevel.objects.annotate(depth=Length("jpath")).select_related(
        "jurisdiction", "declared_by"
    )
    if prefix == "/":
        # The operator sees the level of the top-most node that declared one.
        return qs.order_by("depth", "-declared_at", "-id").first()
    return (
        qs.filter(jpath__in=paths.ancestors(prefix))
        .order_by("-depth", "-declared_at", "-id")
        .first()
    )


def risk_area_list(*, actor, active_only: bool = True) -> QuerySet[RiskArea]:
    """This city's areas inside the actor's subtree, and every other city's area (public lists)."""
    if actor_path(actor) is None:
        return RiskArea.objects.none()
    qs = RiskArea.objects.filter(Q(external=True) | (Q(external=False) & scope_q(actor, "jpath")))
    if active_only:
        qs = qs.filter(ended_on__isnull=True)
    return qs.select_related("jurisdiction", "building")


def access_risk_area(actor, area_id: int) -> RiskArea:
    return fetch(risk_area_list(actor=actor, active_only=False), pk=area_id)


def proposal_list(*, actor, pending_only: bool = True) -> QuerySet[Proposal]:
    qs = scoped(Proposal.objects.select_related("area"), actor, "area__jpath")
    return qs.filter(state=Proposal.State.PENDING) if pending_only else qs


def access_proposal(actor, proposal_id: int) -> Proposal:
    return fetch(proposal_list(actor=actor, pending_only=False), pk=proposal_id)


def is_risk_origin(text_or_code: str) -> RiskArea | None:
    """The strictest active risk area an arrival's origin lies in, or None.

    A jurisdiction code (or path) of this city matches an area on that node or on a node above
    it; free text (an address, '江苏省南京市玄武区梅园新村') matches an area whose name it contains,
    preferring areas whose district or city it also names."""
    text = "".join((text_or_code or "").split())
    if not text:
        return None
    active = RiskArea.objects.filter(ended_on__isnull=True)
    node_path = text if text.startswith("/") else None
    if node_path is None:
        node = Jurisdiction.objects.filter(code=text).only("path").first()
        node_path = node.path if node else None
    if node_path is not None:
        candidates = list(
            active.filter(external=False, jpath__in=paths.ancestors(node_path), building=None)
        )
        if candidates:
            return min(candidates, key=lambda a: (SEVERITY[a.level], -len(a.jpath)))
        return None
    candidates = list(
        active.annotate(origin=Value(text)).filter(origin__contains=F("name")).exclude(name="")
    )
    if not candidates:
        return None

    def rank(area: RiskArea):
        named = sum(bool(part) and part in text for part in (area.district, area.city))
        return (-named, SEVERITY[area.level], -len(area.name))

    return min(candidates, key=rank)


# --- daily reports and bulletins -------------------------------------------------------------


def daily_report_list(*, actor, day=None, level: str | None = None) -> QuerySet[DailyReport]:
    qs = scoped(DailyReport.objects.select_related("jurisdiction", "signed_by"), actor, "jpath")
    if day is not None:
        qs = qs.filter(day=day)
    if level:
        qs = qs.filter(level=level)
    return qs.annotate(
        overdue=Case(
            When(state=DailyReport.State.DRAFT, due_at__lt=timezone.now(), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    ).order_by("-day", "jpath")


def daily_report_counts(*, actor, day) -> dict[str, int]:
    """The day's reports, signed, and late (signed after the deadline, or a draft past it): the
    figures the reports page heads its tree with and the demo prints (one query)."""
    from django.db.models import Count, Q

    return (
        daily_report_list(actor=actor, day=day)
        .order_by()
        .aggregate(
            reports=Count("id"),
            signed=Count("id", filter=Q(state=DailyReport.State.SIGNED)),
            late=Count("id", filter=Q(late=True) | Q(overdue=1)),
        )
    )


def access_daily_report(actor, report_id: int) -> DailyReport:
    return fetch(daily_report_list(actor=actor), pk=report_id)


def bulletin_list(*, actor, published_only: bool = False) -> QuerySet[Bulletin]:
    """Bulletins of the actor's node and the nodes below, and the published ones of the nodes
    above (a public bulletin is public: a district reads the city's)."""
    prefix = actor_path(actor)
    if prefix is None:
        return Bulletin.objects.none()
    qs = Bulletin.objects.select_related("jurisdiction", "approved_by", "published_by")
    if prefix != "/":
        qs = qs.filter(
            Q(jpath__startswith=prefix)
            | Q(jpath__in=paths.ancestors(prefix), state=Bulletin.State.PUBLISHED)
        )
    if published_only:
        qs = qs.filter(state=Bulletin.State.PUBLISHED)
    return qs.order_by("-day", "-id")


def access_bulletin(actor, bulletin_id: int) -> Bulletin:
    return fetch(bulletin_list(actor=actor), pk=bulletin_id)
