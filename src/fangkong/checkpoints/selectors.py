"""Reads of the checkpoints module, scoped to the actor's jurisdiction first."""

from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from fangkong.common import paths
from fangkong.common.scope import access, actor_path, fetch, scope_q, scoped
from fangkong.control.models import Site
from fangkong.geo.models import Jurisdiction, Level

from .models import Arrival, Checkpoint, Disposition, Passenger, Transfer
from .services import transfer_limit


def checkpoint_list(*, actor) -> QuerySet[Checkpoint]:
    return scoped(Checkpoint.objects.all(), actor, "jpath")


def access_checkpoint(actor, pk) -> Checkpoint:
    return access(Checkpoint.objects.all(), actor, "jpath", pk=pk)


def arrival_list(*, actor) -> QuerySet[Arrival]:
    return scoped(Arrival.objects.all(), actor, "jpath").select_related(
        "checkpoint", "risk_area", "order", "destination_grid"
    )


def access_arrival(actor, pk) -> Arrival:
    return access(arrival_list(actor=actor), actor, "jpath", pk=pk)


def arrivals_today(*, actor, checkpoint: Checkpoint | None = None) -> dict:
    """Today's registrations (Asia/Shanghai day) by disposition."""
    start = timezone.make_aware(datetime.combine(timezone.localdate(), datetime.min.time()))
    qs = arrival_list(actor=actor).filter(registered_at__gte=start)
    if checkpoint is not None:
        qs = qs.filter(checkpoint=checkpoint)
    counts = dict(qs.values_list("disposition").annotate(n=Count("id")).order_by())
    return {d: counts.get(d, 0) for d in Disposition.values} | {"total": sum(counts.values())}


def transfer_list(*, actor) -> QuerySet[Transfer]:
    """Transfers leaving the actor's checkpoints, and those bound for the actor's sites."""
    return Transfer.objects.filter(
        scope_q(actor, "jpath") | scope_q(actor, "site__jpath")
    ).select_related("checkpoint", "site")


def access_transfer(actor, pk) -> Transfer:
    return fetch(transfer_list(actor=actor), pk=pk)


def access_passenger(actor, pk) -> Passenger:
    return fetch(
        Passenger.objects.select_related("transfer", "order"),
        scope_q(actor, "transfer__jpath") | scope_q(actor, "transfer__site__jpath"),
        pk=pk,
    )


def transfer_board(*, actor, now=None) -> dict:
    """Open transfers by state with their passengers; the overdue ones marked."""
    now = now or timezone.now()
    due = now - transfer_limit()
    recent = now - timedelta(days=1)
    transfers = list(
        transfer_list(actor=actor)
        .filter(
            Q(state__in=["planned", "dispatched", "picked_up", "arrived"])
            | Q(created_at__gte=recent)
        )
        .order_by("created_at", "id")
    )
    passengers: dict[int, list] = {}
    for p in Passenger.objects.filter(transfer__in=transfers).select_related(
        "order__person", "order__room"
    ):
        passengers.setdefault(p.transfer_id, []).append(p)
    columns = {s: [] for s in Transfer.State.values}
    for t in transfers:
        t.riders = passengers.get(t.pk, [])
        t.waiting = sum(p.checked_in_at is None for p in t.riders)
        t.overdue = bool(t.dispatched_at and t.dispatched_at <= due and t.waiting)
        columns[t.state].append(t)
    return {
        "columns": [(s, Transfer.State(s).label, columns[s]) for s in Transfer.State.values],
        "overdue": sum(t.overdue for t in transfers),
        "limit_hours": f"{transfer_limit().total_seconds() / 3600:g}",
    }


def awaiting_transfer(*, actor, checkpoint: Checkpoint | None = None) -> QuerySet[Arrival]:
    """Arrivals put under centralized isolation who are on no vehicle yet."""
    qs = (
        arrival_list(actor=actor)
        .filter(order__status="open", order__measure="centralized")
        .exclude(Exists(Passenger.objects.filter(order=OuterRef("order_id"))))
    )
    if checkpoint is not None:
        qs = qs.filter(checkpoint=checkpoint)
    return qs.select_related("order__person").order_by("registered_at", "id")


def drop_off_sites(*, actor) -> QuerySet[Site]:
    """Isolation sites a transfer may go to: any active one of the actor's city."""
    path = actor_path(actor)
    if path is None:
        return Site.objects.none()
    qs = Site.objects.filter(active=True, jpath__startswith=paths.prefix(path, 2))
    return qs.annotate(free=Count("rooms", filter=Q(rooms__state="vacant"))).order_by("code")


def grid_options(*, actor, q: str) -> QuerySet[Jurisdiction]:
    """Destination grids of the actor's city matching the typed name or code (not personal data:
    an arrival may be bound for any grid of the city)."""
    path = actor_path(actor)
    qs = Jurisdiction.objects.filter(
        level=Level.GRID, path__startswith=paths.prefix(path or "/", 2)
    )
    q = q.strip()
    if path is None or not q:
        return qs.none()
    return (
        qs.filter(Q(name__contains=q) | Q(code__startswith=q) | Q(parent__name__contains=q))
        .select_related("parent")
        .order_by("path")[:15]
    )
