"""Writes of the tracing module: cluster events."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import errors
from fangkong.common.scope import operator_or_actor_path, require

from .. import roles
from ..models import Case, CaseEvent, ClusterEvent, Setting
from ._common import Conflict, TracingError, _event

# A cluster is at least five linked cases (plan ed. 7).
CLUSTER_MIN_CASES = 5


def cluster_event_create(
    *,
    actor,
    code: str,
    name: str,
    setting: str,
    jpath: str | None = None,
    place: str = "",
    cases=(),
    notes="",
) -> ClusterEvent:
    """A named cluster event in `jpath` (default: the actor's own node; a superuser without one
    names it at the root) with the given cases linked to it."""
    require(actor, roles.can_investigate)
    jpath = jpath or operator_or_actor_path(actor)
    if jpath is None:
        raise errors.Forbidden
    if setting not in Setting.values:
        raise TracingError(_("Unknown setting: %s") % setting)
    with transaction.atomic():
        if ClusterEvent.objects.filter(code=code).exists():
            raise Conflict(_("Cluster %s exists.") % code)
        try:
            # Two epidemiologists naming the same code at once: the unique index decides.
            with transaction.atomic():
                event = ClusterEvent.objects.create(
                    code=code, name=name, setting=setting, place=place, jpath=jpath, notes=notes
                )
        except IntegrityError:
            raise Conflict(_("Cluster %s exists.") % code) from None
        audit_created(
            actor=actor, obj=event, fields={"code": code, "name": name, "setting": setting}
        )
        for case in cases:
            case_cluster_assign(actor=actor, case=case, cluster=event)
    return event


def case_cluster_assign(*, actor, case: Case, cluster: ClusterEvent | None) -> Case:
    with transaction.atomic():
        before = case.cluster_event_id
        Case.objects.filter(pk=case.pk).update(cluster_event=cluster)
        case.cluster_event = cluster
        _event(
            case,
            CaseEvent.Kind.CLUSTER,
            actor,
            before=before or "",
            after=getattr(cluster, "code", ""),
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=case,
            changes={"cluster_event": [before, getattr(cluster, "pk", None)]},
        )
    return case
