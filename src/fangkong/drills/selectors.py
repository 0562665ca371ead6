"""Reads of drills, scoped first: the drills of the actor's subtree, and those they take part in."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from fangkong.common.scope import actor_path, fetch, scoped

from . import routing
from .models import Drill, Inject


def drill_list(*, actor) -> QuerySet[Drill]:
    prefix = actor_path(actor)
    visible = Q(participants__user_id=getattr(actor, "pk", None))
    if prefix is not None:
        visible |= Q(jpath__startswith=prefix)
    ids = Drill.objects.using("default").filter(visible).values("id")
    return (
        Drill.objects.using("default")
        .filter(id__in=ids)
        .select_related("jurisdiction", "created_by")
        .prefetch_related(Prefetch("injects", queryset=Inject.objects.order_by("number")))
    )


def access_drill(actor, pk) -> Drill:
    with routing.live():
        return fetch(drill_list(actor=actor), pk=pk)


def inject_list(*, drill: Drill) -> QuerySet[Inject]:
    return Inject.objects.using("default").filter(drill=drill).order_by("number")


def participant_users(*, drill: Drill) -> list:
    return [
        p.user
        for p in drill.participants.using("default").select_related("user", "user__jurisdiction")
    ]


def participant_candidates(*, actor, drill_path: str | None = None) -> QuerySet:
    """Accounts a director may name as participants: active, working inside the actor's subtree
    (and inside the drill's area when one is given), read from the live database."""
    qs = scoped(
        get_user_model().objects.using("default").filter(is_active=True),
        actor,
        "jurisdiction__path",
    )
    if drill_path is not None:
        qs = qs.filter(jurisdiction__path__startswith=drill_path)
    return qs.select_related("jurisdiction").order_by("username")
