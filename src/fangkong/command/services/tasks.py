"""Writes of the command centre: tasks, their feedback and state, and escalation."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_fields, audit_record, audit_updated
from fangkong.common import paths
from fangkong.common.models import Alert
from fangkong.common.scope import actor_path, path_within

from .. import roles
from ..models import Task, TaskUpdate, Unit
from ._common import CommandRefused, _bulk_alerts, _require, _within


def task_dispatch(
    *,
    actor,
    title: str,
    deadline: dt.datetime,
    description: str = "",
    priority: str = "normal",
    unit: Unit | None = None,
    node=None,
    user=None,
) -> Task:
    _require(roles.can_dispatch(actor))
    if sum(x is not None for x in (unit, node, user)) != 1:
        raise CommandRefused(
            _("choose exactly one assignee: a unit, a node or a person"), code="assignee_required"
        )
    if not title.strip():
        raise CommandRefused(_("a task needs a title"))
    if unit is not None:
        assignee_path = unit.path
    elif node is not None:
        assignee_path = node.path
    else:
        if user.jurisdiction is None:
            raise CommandRefused(_("that person is bound to no node"))
        assignee_path = user.jurisdiction.path
    # Flat command goes straight down, but never sideways into another subtree.
    _within(actor, assignee_path)
    with transaction.atomic():
        task = Task.objects.create(
            title=title.strip(),
            description=description,
            deadline=deadline,
            priority=priority,
            assignee_unit=unit,
            assignee_node=node,
            assignee_user=user,
            dispatcher=actor,
            dispatcher_path=actor_path(actor),
            assignee_path=assignee_path,
        )
        TaskUpdate.objects.create(task=task, kind=TaskUpdate.Kind.CREATED, author=actor)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=task,
            jurisdiction_path=assignee_path,
            changes={"title": [None, task.title], "deadline": [None, deadline.isoformat()]},
        )
    return task


def task_feedback(
    *, actor, task: Task, text: str, percent: int | None = None, attachment=None
) -> TaskUpdate:
    if task.state not in Task.ACTIVE:
        raise CommandRefused(
            _("the task is already %(state)s") % {"state": task.get_state_display()}
        )
    if percent is not None and not 0 <= percent <= 100:
        raise CommandRefused(
            _("progress is a percentage from 0 to 100"), code="percent_out_of_range"
        )
    if not text.strip() and percent is None and not attachment:
        raise CommandRefused(_("feedback needs text, a percentage or a file"))
    with transaction.atomic():
        update = TaskUpdate.objects.create(
            task=task,
            kind=TaskUpdate.Kind.FEEDBACK,
            author=actor,
            text=text,
            percent=percent,
            attachment=attachment or "",
        )
        before = {"state": task.state, "percent": task.percent}
        if percent is not None:
            task.percent = percent
        if task.state == Task.State.OPEN:
            task.state = Task.State.IN_PROGRESS
        task.save(update_fields=["state", "percent"])
        audit_updated(
            actor=actor,
            obj=task,
            before=before,
            after={"state": task.state, "percent": task.percent},
        )
    return update


def task_set_state(*, actor, task: Task, state: str, text: str = "") -> Task:
    if task.state not in Task.ACTIVE:
        raise CommandRefused(
            _("the task is already %(state)s") % {"state": task.get_state_display()}
        )
    if state == Task.State.CANCELLED:
        # Only the dispatching side may withdraw an order.
        _require(roles.can_dispatch(actor) and path_within(actor, task.dispatcher_path))
    elif state not in (Task.State.DONE, Task.State.IN_PROGRESS):
        raise CommandRefused(_("unknown state"))
    with transaction.atomic():
        before = {"state": task.state}
        task.state = state
        fields = ["state"]
        if state in (Task.State.DONE, Task.State.CANCELLED):
            task.finished_at = timezone.now()
            fields.append("finished_at")
        if state == Task.State.DONE:
            task.percent = 100
            fields.append("percent")
        task.save(update_fields=fields)
        TaskUpdate.objects.create(task=task, kind=TaskUpdate.Kind.STATE, author=actor, text=text)
        audit_updated(actor=actor, obj=task, before=before, after={"state": state})
    return task


def escalation_period() -> dt.timedelta:
    return dt.timedelta(hours=settings.FANGKONG_TASK_ESCALATION_HOURS)


def tasks_escalate(*, now: dt.datetime, period: dt.timedelta | None = None) -> int:
    """Overdue active tasks: first escalation alerts the dispatcher's node; after each further
    `period` the next one alerts the node one level higher. Returns the tasks escalated.

    Set-based: a few queries whatever the number of tasks."""
    period = period or escalation_period()
    active = Task.objects.filter(state__in=Task.ACTIVE, deadline__lt=now)
    rows = list(
        active.filter(escalation_level=0).values_list(
            "id", "escalation_level", "dispatcher_path", "title"
        )
    ) + [
        row
        for row in active.filter(
            escalation_level__gt=0, escalated_at__lte=now - period
        ).values_list("id", "escalation_level", "dispatcher_path", "title")
        # Past the root node there is nobody left to tell.
        if paths.up(row[2], row[1] - 1) != paths.up(row[2], row[1])
    ]
    if not rows:
        return 0
    by_level: dict[int, list[int]] = defaultdict(list)
    alerts, history, audit = [], [], []
    who = audit_fields(None)
    for task_id, level, dispatcher_path, title in rows:
        new = level + 1
        by_level[new].append(task_id)
        target = paths.up(dispatcher_path, new - 1)
        alerts.append(
            Alert(
                kind="command.task_overdue",
                level=Alert.Level.WARNING if new == 1 else Alert.Level.CRITICAL,
                title=_("Task overdue: %(title)s") % {"title": title},
                body=_("escalation level %(level)s") % {"level": new},
                jurisdiction_path=target,
                object_type="command.task",
                object_id=str(task_id),
                dedupe_key=f"command.task.{task_id}.{new}",
            )
        )
        history.append(
            TaskUpdate(
                task_id=task_id,
                kind=TaskUpdate.Kind.ESCALATED,
                text=_("escalated to level %(level)s") % {"level": new},
            )
        )
        audit.append(
            AuditEntry(
                **who,
                action=Action.UPDATE,
                object_type="command.task",
                object_id=str(task_id),
                object_repr=title[:200],
                jurisdiction_path=dispatcher_path,
                changes={"escalation_level": [level, new]},
            )
        )
    with transaction.atomic():
        for level, ids in by_level.items():
            Task.objects.filter(pk__in=ids).update(escalation_level=level, escalated_at=now)
        _bulk_alerts(alerts)
        TaskUpdate.objects.bulk_create(history)
        AuditEntry.objects.bulk_create(audit)
    return len(rows)
