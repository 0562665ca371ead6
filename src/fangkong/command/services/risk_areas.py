"""Writes of the command centre: tasks and escalation, inspections and findings, response levels, risk areas."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_created, audit_fields, audit_record, audit_updated
from fangkong.common import errors, imports, paths
from fangkong.common.models import Alert
from fangkong.common.scope import actor_path, operator_or_actor_path, path_within

from .. import roles
from ..models import (
    Answer,
    Bulletin,
    CheckItem,
    ChecklistTemplate,
    DailyReport,
    Finding,
    Inspection,
    Proposal,
    ResponseLevel,
    RiskArea,
    RiskLevel,
    Task,
    TaskUpdate,
    Unit,
)
from ..policy import DOWNGRADES, LEVELS_OF_PRESET


class CommandRefused(errors.DomainError, ValueError):
    """The request breaks a rule; the message says which, for the user."""


def _require(allowed: bool) -> None:
    if not allowed:
        raise errors.Forbidden


def _within(actor, path: str) -> None:
    if not path_within(actor, path):
        raise CommandRefused(_("that lies outside your jurisdiction"))


def _bulk_alerts(rows: list[Alert]) -> None:
    # One INSERT for all; the dedupe key makes raising the same cause twice harmless.
    Alert.objects.bulk_create(rows, ignore_conflicts=True)


# --- units -----------------------------------------------------------------------------------


def unit_create(*, actor, name: str, kind: str, jurisdiction, working_group: str = "") -> Unit:
    _require(actor is None or roles.can_declare(actor))
    if actor is not None:
        _within(actor, jurisdiction.path)
    if working_group and kind != Unit.Kind.WORKING_GROUP:
        raise CommandRefused(_("only a working group has a working-group code"))
    with transaction.atomic():
        unit, created = Unit.objects.get_or_create(
            jurisdiction=jurisdiction,
            name=name,
            defaults={"kind": kind, "path": jurisdiction.path, "working_group": working_group},
        )
        if created:
            audit_created(
                actor=actor, obj=unit, fields={"name": name, "kind": kind, "path": unit.path}
            )
    return unit


# --- tasks -----------------------------------------------------------------------------------


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
        raise CommandRefused(_("progress is a percentage from 0 to 100"))
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


# --- inspections -----------------------------------------------------------------------------


def default_template() -> ChecklistTemplate:
    template = ChecklistTemplate.objects.filter(active=True).order_by("id").first()
    if template is None:
        raise CommandRefused(_("there is no active checklist template"))
    return template


def inspection_start(
    *,
    actor,
    place: str,
    jurisdiction,
    unannounced: bool = False,
    visited_at: dt.datetime | None = None,
    template: ChecklistTemplate | None = None,
) -> Inspection:
    _require(roles.can_inspect(actor))
    _within(actor, jurisdiction.path)
    if not place.strip():
        raise CommandRefused(_("name the place inspected"))
    with transaction.atomic():
        inspection = Inspection.objects.create(
            inspector=actor,
            place=place.strip(),
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            unannounced=unannounced,
            template=template or default_template(),
            visited_at=visited_at or timezone.now(),
        )
        audit_created(
            actor=actor,
            obj=inspection,
            fields={"place": inspection.place, "unannounced": unannounced},
        )
    return inspection


def inspection_submit(
    *,
    actor,
    inspection: Inspection,
    answers: dict[int, tuple[str, str]],
    deadline: dt.date | None = None,
    responsible_unit: Unit | None = None,
) -> Inspection:
    """Record the checklist ({item id: (result, note)}) and open one finding per 'finding' answer.

    Every item must be answered; a finding needs a note (what is wrong) and the rectification
    deadline. Without findings the inspection closes at once."""
    if inspection.inspector_id != actor.pk:
        raise errors.Forbidden
    if inspection.state != Inspection.State.DRAFT:
        raise CommandRefused(_("the checklist was already submitted"))
    items = {
        item.pk: item for item in CheckItem.objects.filter(gate__template_id=inspection.template_id)
    }
    missing = [item for pk, item in items.items() if pk not in answers]
    if missing:
        raise CommandRefused(_("check items not answered: %(count)s") % {"count": len(missing)})
    unknown = set(answers) - set(items)
    if unknown:
        raise CommandRefused(_("those check items are not on this checklist"))
    flagged = {
        pk: note for pk, (result, note) in answers.items() if result == Answer.Result.FINDING
    }
    for result, _note in answers.values():
        if result not in Answer.Result.values:
            raise CommandRefused(_("an answer is either ok or a finding"))
    if any(not note.strip() for note in flagged.values()):
        raise CommandRefused(_("describe each finding"))
    if flagged and deadline is None:
        raise CommandRefused(_("a finding needs a rectification deadline"))
    if responsible_unit is not None:
        _within(actor, responsible_unit.path)
    node = responsible_unit.jurisdiction if responsible_unit else inspection.jurisdiction
    with transaction.atomic():
        Answer.objects.bulk_create(
            [
                Answer(inspection=inspection, item_id=pk, result=result, note=note)
                for pk, (result, note) in answers.items()
            ]
        )
        Finding.objects.bulk_create(
            [
                Finding(
                    inspection=inspection,
                    item_id=pk,
                    description=note.strip(),
                    responsible_unit=responsible_unit,
                    responsible_node=node,
                    jpath=node.path,
                    inspection_path=inspection.jpath,
                    deadline=deadline,
                )
                for pk, note in flagged.items()
            ]
        )
        inspection.state = Inspection.State.SUBMITTED if flagged else Inspection.State.CLOSED
        if not flagged:
            inspection.closed_at = timezone.now()
        inspection.save(update_fields=["state", "closed_at"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=inspection,
            changes={"state": ["draft", inspection.state], "findings": [0, len(flagged)]},
        )
    return inspection


def finding_rectify(*, actor, finding: Finding, evidence_text: str, evidence_file=None) -> Finding:
    """The responsible side reports the rectification with its evidence."""
    _require(path_within(actor, finding.jpath))
    if finding.state != Finding.State.OPEN:
        raise CommandRefused(_("the finding is not open"))
    if not evidence_text.strip():
        raise CommandRefused(_("describe what was done as evidence"))
    with transaction.atomic():
        finding.state = Finding.State.RECTIFIED
        finding.evidence_text = evidence_text.strip()
        if evidence_file:
            finding.evidence_file = evidence_file
        finding.rectified_at = timezone.now()
        finding.rectified_by = actor
        finding.save()
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=finding,
            jurisdiction_path=finding.jpath,
            changes={"state": ["open", "rectified"]},
        )
    return finding


def may_accept(actor, finding: Finding) -> bool:
    inspection = finding.inspection
    return inspection.inspector_id == actor.pk or (
        roles.can_declare(actor) and path_within(actor, inspection.jpath)
    )


def finding_accept(*, actor, finding: Finding) -> Finding:
    """The inspector accepts the evidence; the last accepted finding closes the inspection."""
    _require(may_accept(actor, finding))
    if finding.state != Finding.State.RECTIFIED:
        raise CommandRefused(_("only a rectified finding can be accepted"))
    with transaction.atomic():
        finding.state = Finding.State.ACCEPTED
        finding.accepted_at = timezone.now()
        finding.accepted_by = actor
        finding.save(update_fields=["state", "accepted_at", "accepted_by"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=finding,
            jurisdiction_path=finding.jpath,
            changes={"state": ["rectified", "accepted"]},
        )
        inspection = finding.inspection
        if not inspection.findings.exclude(state=Finding.State.ACCEPTED).exists():
            inspection.state = Inspection.State.CLOSED
            inspection.closed_at = finding.accepted_at
            inspection.save(update_fields=["state", "closed_at"])
            audit_record(
                actor=actor,
                action=Action.UPDATE,
                obj=inspection,
                changes={"state": ["submitted", "closed"]},
            )
    return finding


def finding_reject(*, actor, finding: Finding, reason: str) -> Finding:
    """The evidence does not convince: the finding goes back to the responsible side."""
    _require(may_accept(actor, finding))
    if finding.state != Finding.State.RECTIFIED:
        raise CommandRefused(_("only a rectified finding can be sent back"))
    if not reason.strip():
        raise CommandRefused(_("say why the rectification is not accepted"))
    with transaction.atomic():
        finding.state = Finding.State.OPEN
        finding.rejection = reason.strip()
        finding.save(update_fields=["state", "rejection"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=finding,
            jurisdiction_path=finding.jpath,
            changes={"state": ["rectified", "open"], "rejection": [None, finding.rejection]},
        )
    return finding


def findings_overdue_alert(*, today: dt.date) -> int:
    """One alert per finding still open after its deadline, to the responsible node."""
    rows = Finding.objects.filter(state=Finding.State.OPEN, deadline__lt=today).values_list(
        "id", "jpath", "description", "deadline"
    )
    alerts = [
        Alert(
            kind="command.finding_overdue",
            title=_("Rectification overdue: %(text)s") % {"text": text[:80]},
            body=_("due %(date)s") % {"date": deadline.isoformat()},
            jurisdiction_path=jpath,
            object_type="command.finding",
            object_id=str(pk),
            dedupe_key=f"command.finding.{pk}",
        )
        for pk, jpath, text, deadline in rows
    ]
    _bulk_alerts(alerts)
    return len(alerts)


# --- response levels -------------------------------------------------------------------------


def response_level_declare(
    *, actor, level: int, reason: str = "", jurisdiction=None, declared_at=None
) -> ResponseLevel:
    """A new declaration; the old ones stay as the history."""
    _require(roles.can_declare(actor))
    node = jurisdiction or actor.jurisdiction
    if node is None:
        raise CommandRefused(_("declare for a node"))
    _within(actor, node.path)
    if level not in ResponseLevel.Level.values:
        raise CommandRefused(_("the response level is I, II, III or IV"))
    with transaction.atomic():
        record = ResponseLevel.objects.create(
            jurisdiction=node,
            jpath=node.path,
            level=level,
            declared_at=declared_at or timezone.now(),
            declared_by=actor,
            reason=reason,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=record,
            jurisdiction_path=node.path,
            changes={"level": [None, level], "reason": [None, reason]},
        )
    return record


# --- risk areas ------------------------------------------------------------------------------


def risk_area_declare(
    *,
    actor,
    level: str,
    since: dt.date,
    reason: str = "",
    preset: str = RiskArea.Preset.JUN_2022,
    jurisdiction=None,
    building=None,
    name: str = "",
) -> RiskArea:
    _require(roles.can_declare(actor))
    if (jurisdiction is None) == (building is None):
        raise CommandRefused(_("declare the area on either a node or a building"))
    if level not in LEVELS_OF_PRESET.get(preset, ()):
        raise CommandRefused(
            _("the level %(level)s is not part of the preset %(preset)s")
            % {"level": level, "preset": preset}
        )
    path = jurisdiction.path if jurisdiction else building.grid.path
    _within(actor, path)
    with transaction.atomic():
        area = RiskArea.objects.create(
            name=name or (jurisdiction.name if jurisdiction else building.name),
            level=level,
            preset=preset,
            jurisdiction=jurisdiction,
            building=building,
            jpath=path,
            since=since,
            level_since=since,
            reason=reason,
        )
        audit_created(
            actor=actor,
            obj=area,
            fields={"name": area.name, "level": level, "since": since, "preset": preset},
        )
    return area


def risk_area_update(
    *,
    actor,
    area: RiskArea,
    last_case_on: dt.date | None = None,
    negative_round_on: dt.date | None = None,
    ended_on: dt.date | None = None,
) -> RiskArea:
    """HQ keeps the facts the review depends on, or ends the area."""
    _require(roles.can_declare(actor))
    before = {
        "last_case_on": area.last_case_on,
        "negative_round_on": area.negative_round_on,
        "ended_on": area.ended_on,
    }
    if last_case_on is not None:
        area.last_case_on = last_case_on
    if negative_round_on is not None:
        area.negative_round_on = negative_round_on
    if ended_on is not None:
        area.ended_on = ended_on
    after = {
        "last_case_on": area.last_case_on,
        "negative_round_on": area.negative_round_on,
        "ended_on": area.ended_on,
    }
    with transaction.atomic():
        area.save(update_fields=list(after))
        audit_updated(actor=actor, obj=area, before=before, after=after)
    return area


def last_cases_from_findings() -> dict[str, dt.date]:
    """Latest positive finding per path, from mass testing (the only cases the system knows yet)."""
    from fangkong.testing.models import PositiveFinding

    return {
        row["jpath"]: timezone.localdate(row["last"])
        for row in PositiveFinding.objects.values("jpath").annotate(last=Max("at"))
    }


def _last_case_under(paths: list[str], dates: list[dt.date], prefix: str) -> dt.date | None:
    start = bisect_left(paths, prefix)
    end = bisect_left(paths, prefix + "\uffff")
    return max(dates[start:end], default=None)


def risk_areas_review(
    *, today: dt.date, last_case_on_by_path: dict[str, dt.date] | None = None
) -> list[Proposal]:
    """The daily check: propose each downgrade its preset allows today; HQ decides.

    Clean days run from the later of the last case and the day the current level took effect.
    The last case is the later of the area's own field and any case under its path
    (`last_case_on_by_path`, by default the positive findings of mass testing)."""
    if last_case_on_by_path is None:
        last_case_on_by_path = last_cases_from_findings()
    pairs = sorted(last_case_on_by_path.items())
    paths, dates = [p for p, _d in pairs], [d for _p, d in pairs]
    areas = (
        RiskArea.objects.filter(external=False, ended_on__isnull=True, since__lte=today)
        .exclude(proposals__state=Proposal.State.PENDING)
        .only(
            "id",
            "name",
            "level",
            "preset",
            "jpath",
            "level_since",
            "last_case_on",
            "negative_round_on",
        )
    )
    proposals = []
    for area in areas:
        step = DOWNGRADES.get(area.preset, {}).get(area.level)
        if step is None:
            continue
        known = [d for d in (area.last_case_on, _last_case_under(paths, dates, area.jpath)) if d]
        last_case = max(known, default=None)
        start = max(area.level_since, last_case) if last_case else area.level_since
        clean = (today - start).days
        if clean < step.clean_days:
            continue
        if step.needs_negative_round and not (
            area.negative_round_on and area.negative_round_on > start
        ):
            continue
        proposals.append(
            Proposal(
                area=area,
                from_level=area.level,
                to_level=step.to_level,
                proposed_on=today,
                clean_days=clean,
                reason=_("%(days)s days without a case") % {"days": clean},
            )
        )
    if not proposals:
        return []
    with transaction.atomic():
        Proposal.objects.bulk_create(proposals)
        created = list(
            Proposal.objects.filter(proposed_on=today, state=Proposal.State.PENDING)
            .filter(area_id__in=[p.area_id for p in proposals])
            .select_related("area")
        )
        _bulk_alerts(
            [
                Alert(
                    kind="command.risk_proposal",
                    level=Alert.Level.INFO,
                    title=_("Downgrade proposed: %(name)s") % {"name": p.area.name},
                    jurisdiction_path=p.area.jpath,
                    object_type="command.proposal",
                    object_id=str(p.pk),
                    dedupe_key=f"command.proposal.{p.pk}",
                )
                for p in created
            ]
        )
    return created


def proposal_decide(
    *, actor, proposal: Proposal, approve: bool, today: dt.date | None = None
) -> Proposal:
    """HQ approves (the area changes level, or is lifted) or rejects a proposal."""
    _require(roles.can_declare(actor))
    if proposal.state != Proposal.State.PENDING:
        raise CommandRefused(_("the proposal was already decided"))
    area = proposal.area
    _within(actor, area.jpath)
    today = today or timezone.localdate()
    with transaction.atomic():
        proposal.state = Proposal.State.APPROVED if approve else Proposal.State.REJECTED
        proposal.decided_at = timezone.now()
        proposal.decided_by = actor
        proposal.save(update_fields=["state", "decided_at", "decided_by"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=proposal,
            jurisdiction_path=area.jpath,
            changes={"state": ["pending", proposal.state]},
        )
        if approve:
            before = {
                "level": area.level,
                "level_since": area.level_since,
                "ended_on": area.ended_on,
            }
            if proposal.to_level:
                area.level = proposal.to_level
                area.level_since = today
            else:
                area.ended_on = today
            area.save(update_fields=["level", "level_since", "ended_on"])
            audit_updated(
                actor=actor,
                obj=area,
                before=before,
                after={
                    "level": area.level,
                    "level_since": area.level_since,
                    "ended_on": area.ended_on,
                },
            )
    return proposal


# --- other cities' risk areas from a file ----------------------------------------------------

IMPORT_COLUMNS = ["province", "city", "district", "area_name", "level", "since"]
_IMPORT_ALIASES = {
    "省": "province",
    "市": "city",
    "区": "district",
    "区县": "district",
    "地区": "area_name",
    "风险区": "area_name",
    "名称": "area_name",
    "等级": "level",
    "风险等级": "level",
    "起始日期": "since",
}
_LEVEL_WORDS = [
    ("高", RiskLevel.HIGH),
    ("中", RiskLevel.MEDIUM),
    ("低", RiskLevel.LOW),
    ("封控", RiskLevel.SEALED),
    ("管控", RiskLevel.CONTROLLED),
    ("防范", RiskLevel.PRECAUTION),
]


def parse_risk_level(value: str) -> str:
    text = value.strip().lower()
    if text in RiskLevel.values:
        return text
    for word, level in _LEVEL_WORDS:
        if text.startswith(word):
            return level
    raise ValueError(value)


def external_key(province: str, city: str, district: str, area_name: str) -> str:
    return "|".join((province, city, district, area_name))


def risk_areas_import(
    *, actor, source, filename: str = "", mode: str = imports.ImportJob.Mode.KEEP_GOOD
) -> imports.ImportJob:
    """Other cities' risk areas: one row per area, keyed by province, city, district and name.

    Re-importing the same file changes nothing; a changed level or date updates the area."""
    if actor is not None:
        _require(roles.can_declare(actor))
    return imports.run_import(
        kind="command.risk_areas",
        actor=actor,
        source=source,
        filename=filename,
        aliases=_IMPORT_ALIASES,
        required=IMPORT_COLUMNS,
        body=lambda job, table: _import_body(actor, job, table),
        mode=mode,
    )


def _import_body(actor, job, table) -> imports.ImportJob:
    errors = table.errors
    wanted: dict[str, dict] = {}
    for line, row in table.rows:
        values = table.original(row)
        problems = []
        for column in ("province", "city", "area_name"):
            if not row.get(column):
                problems.append(imports.RowError(line, column, "", _("this column is required")))
        try:
            level = parse_risk_level(row.get("level", ""))
        except ValueError:
            problems.append(
                imports.RowError(line, "level", row.get("level", ""), _("unknown risk level"))
            )
        try:
            since = imports.parse_date(row.get("since", ""))
        except ValueError:
            problems.append(
                imports.RowError(line, "since", row.get("since", ""), _("not a date (YYYY-MM-DD)"))
            )
        if problems:
            errors.reject(line, values, problems)
            continue
        key = external_key(row["province"], row["city"], row.get("district", ""), row["area_name"])
        if key in wanted:
            errors.reject_one(
                line,
                values,
                "area_name",
                row["area_name"],
                _("the same area appears on line %(line)s") % {"line": wanted[key]["line"]},
            )
            continue
        wanted[key] = {
            "line": line,
            "province": row["province"],
            "city": row["city"],
            "district": row.get("district", ""),
            "name": row["area_name"],
            "level": level,
            "since": since,
        }
    existing = {
        area.external_key: area for area in RiskArea.objects.filter(external_key__in=wanted)
    }
    new, changed, unchanged = [], [], 0
    for key, data in wanted.items():
        preset = (
            RiskArea.Preset.ZONES
            if data["level"] in LEVELS_OF_PRESET[RiskArea.Preset.ZONES]
            else RiskArea.Preset.JUN_2022
        )
        area = existing.get(key)
        if area is None:
            new.append(
                RiskArea(
                    name=data["name"],
                    level=data["level"],
                    preset=preset,
                    external=True,
                    province=data["province"],
                    city=data["city"],
                    district=data["district"],
                    external_key=key,
                    since=data["since"],
                    level_since=data["since"],
                )
            )
        elif (area.level, area.since, area.ended_on) != (data["level"], data["since"], None):
            area.level, area.since, area.level_since = data["level"], data["since"], data["since"]
            area.preset, area.ended_on = preset, None
            changed.append(area)
        else:
            unchanged += 1
    with transaction.atomic():
        RiskArea.objects.bulk_create(new)
        RiskArea.objects.bulk_update(
            changed, ["level", "since", "level_since", "preset", "ended_on"]
        )
        if new or changed:
            audit_record(
                actor=actor,
                action=Action.IMPORT,
                object_type="command.riskarea",
                object_repr=job.filename,
                jurisdiction_path=operator_or_actor_path(actor) or "",
                changes={"created": len(new), "updated": len(changed)},
            )
    return imports.job_finish(
        job,
        header=table.header,
        columns=table.columns,
        errors=errors,
        total=table.read,
        created=len(new),
        updated=len(changed),
        unchanged=unchanged,
    )


# --- daily reports (三级登记报告) ----------------------------------------------------------------


# The reporting levels, top first, and when each level's report of day D is due: so many hours
# after D ends (streets report first, so the district can sum them, then the city); both are
# settings (FANGKONG_REPORT_LEVELS, FANGKONG_REPORT_DUE_HOURS).

# What the unit fills in by hand: (key, kind, label). Numbers are summed up the levels.
ENTRY_FIELDS = [
    ("staff_on_duty", "int", _lazy("Staff on duty")),
    ("volunteers", "int", _lazy("Volunteers")),
    ("households_supplied", "int", _lazy("Households supplied with necessities")),
    ("key_work", "text", _lazy("Work done today")),
    ("problems", "text", _lazy("Problems and requests")),
]


def report_levels() -> list[str]:
    return list(settings.FANGKONG_REPORT_LEVELS)


def report_due_at(level: str, day: dt.date) -> dt.datetime:
    hours = settings.FANGKONG_REPORT_DUE_HOURS
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return end + dt.timedelta(hours=hours.get(level, 10))


def _child_level(level: str) -> str | None:
    levels = report_levels()
    i = levels.index(level)
    return levels[i + 1] if i + 1 < len(levels) else None


def report_children(report: DailyReport):
    """The reports of the same day one reporting level down inside the report's subtree."""
    below = _child_level(report.level)
    if below is None:
        return DailyReport.objects.none()
    return DailyReport.objects.filter(
        day=report.day, level=below, jpath__startswith=report.jpath
    ).select_related("jurisdiction", "signed_by")


def daily_reports_assemble(*, day: dt.date, root=None) -> int:
    """Create (or refresh, while unsigned) the day's report of every node at a reporting level,
    each with its figures from the modules. Signed reports are frozen and left alone.

    One run of the providers per node (a few aggregate queries each), so a city of 10 districts
    and 120 streets costs ~130 provider runs: a daily job, never a page request."""
    from fangkong.geo.models import Jurisdiction

    from .. import figures

    levels = report_levels()
    nodes = Jurisdiction.objects.filter(level__in=levels)
    if root is not None:
        nodes = nodes.filter(path__startswith=root.path)
    existing = {r.jurisdiction_id: r for r in DailyReport.objects.filter(day=day)}
    now = timezone.now()
    created, updated = [], []
    for node in nodes.order_by("path"):
        report = existing.get(node.pk)
        if report is not None and report.state == DailyReport.State.SIGNED:
            continue
        values = figures.collect(node.path, day)
        if report is None:
            created.append(
                DailyReport(
                    jurisdiction=node,
                    jpath=node.path,
                    level=node.level,
                    day=day,
                    figures=values,
                    due_at=report_due_at(node.level, day),
                    assembled_at=now,
                )
            )
        else:
            report.figures, report.assembled_at = values, now
            updated.append(report)
    with transaction.atomic():
        DailyReport.objects.bulk_create(created)
        DailyReport.objects.bulk_update(updated, ["figures", "assembled_at"])
        # One entry per run: the figures are the modules' own, assembled by the system.
        audit_record(
            actor=None,
            action=Action.CREATE if created else Action.UPDATE,
            object_type="command.dailyreport",
            object_repr=f"daily reports {day.isoformat()}",
            jurisdiction_path=root.path if root is not None else "/",
            changes={"created": [None, len(created)], "refreshed": [None, len(updated)]},
        )
    return len(created) + len(updated)


def _report_staff(actor, report: DailyReport) -> bool:
    """The node's own HQ staff sign and fill in its report (a district does not sign a street's)."""
    return (
        roles.can_declare(actor)
        and getattr(actor, "jurisdiction_id", None) == report.jurisdiction_id
    )


def _clean_entries(entries: dict) -> dict:
    out = {}
    for key, kind, _label in ENTRY_FIELDS:
        value = entries.get(key)
        if value in (None, ""):
            continue
        if kind == "int":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise CommandRefused(
                    _("%(field)s must be a whole number") % {"field": key}
                ) from None
            if number < 0:
                raise CommandRefused(_("%(field)s cannot be negative") % {"field": key})
            out[key] = number
        else:
            out[key] = str(value)[:4000]
    return out


def daily_report_fill(*, actor, report: DailyReport, entries: dict) -> DailyReport:
    """The unit's own fields; actor None is the operator entering a report that came in on paper."""
    _require(actor is None or _report_staff(actor, report))
    if report.state != DailyReport.State.DRAFT:
        raise CommandRefused(_("the report is signed; ask the level above to return it"))
    cleaned = _clean_entries(entries)
    with transaction.atomic():
        before = dict(report.entries)
        report.entries = cleaned
        report.save(update_fields=["entries"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=report,
            jurisdiction_path=report.jpath,
            changes={"entries": [before, cleaned]},
        )
    return report


def daily_report_sign(
    *, actor, report: DailyReport, now: dt.datetime | None = None, signer: str = ""
) -> DailyReport:
    """Sign the node's report: every report one level down must be signed first. The figures are
    assembled afresh and frozen with the roll-up of the reports below; a signature after the
    deadline marks the report late. Actor None is the operator recording a signature given on
    paper or by phone, under the name `signer`."""
    from .. import figures

    _require(actor is None or _report_staff(actor, report))
    if actor is None and not signer.strip():
        raise CommandRefused(_("say who signed the report"))
    now = now or timezone.now()
    with transaction.atomic():
        report = DailyReport.objects.select_for_update().get(pk=report.pk)
        if report.state != DailyReport.State.DRAFT:
            raise CommandRefused(_("the report is already signed"))
        children = list(report_children(report))
        unsigned = [c for c in children if c.state != DailyReport.State.SIGNED]
        if unsigned:
            raise CommandRefused(
                _("%(n)s report(s) below are not signed yet: %(names)s")
                % {
                    "n": len(unsigned),
                    "names": "、".join(c.jurisdiction.name for c in unsigned[:5]),
                },
                code="reports_unsigned",
            )
        report.figures = figures.collect(report.jpath, report.day)
        report.rollup = (
            figures.roll_up([{**c.figures, **_entry_numbers(c)} for c in children])
            if children
            else {}
        )
        report.state = DailyReport.State.SIGNED
        report.signed_at, report.signed_by = now, actor
        report.signer = (str(actor) if actor is not None else signer.strip())[:60]
        report.late = now > report.due_at
        report.assembled_at = now
        report.save()
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=report,
            jurisdiction_path=report.jpath,
            changes={"state": ["draft", "signed"], "late": [None, report.late]},
        )
    return report


def _entry_numbers(report: DailyReport) -> dict:
    """The unit's own numbers, plus what its own children reported (so the city's roll-up sums
    the streets through the districts, not only the districts' own entries)."""
    own = {f"entry_{k}": v for k, v in report.entries.items() if isinstance(v, int)}
    below = {k: v for k, v in (report.rollup or {}).items() if k.startswith("entry_")}
    return {k: own.get(k, 0) + below.get(k, 0) for k in own.keys() | below.keys()}


def daily_report_return(*, actor, report: DailyReport, reason: str) -> DailyReport:
    """The level above sends a signed report back for correction while its own is unsigned."""
    _require(roles.can_declare(actor))
    if not reason.strip():
        raise CommandRefused(_("say why the report goes back"))
    parent = DailyReport.objects.filter(
        day=report.day,
        jurisdiction_id=getattr(actor, "jurisdiction_id", None),
    ).first()
    if parent is None or report not in list(report_children(parent)):
        raise errors.Forbidden
    if parent.state == DailyReport.State.SIGNED:
        raise CommandRefused(_("your own report is signed already"))
    if report.state != DailyReport.State.SIGNED:
        raise CommandRefused(_("the report is not signed"))
    with transaction.atomic():
        report.state = DailyReport.State.DRAFT
        report.signed_at = report.signed_by = None
        report.signer = ""
        report.late = False
        report.save(update_fields=["state", "signed_at", "signed_by", "signer", "late"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=report,
            jurisdiction_path=report.jpath,
            changes={"state": ["signed", "draft"], "reason": [None, reason]},
        )
    return report


def daily_reports_flag_late(*, now: dt.datetime | None = None) -> int:
    """Raise one alert per unsigned report past its deadline (de-duplicated by report)."""
    now = now or timezone.now()
    late = list(
        DailyReport.objects.filter(state=DailyReport.State.DRAFT, due_at__lt=now).select_related(
            "jurisdiction"
        )
    )
    _bulk_alerts(
        [
            Alert(
                kind="command.report_late",
                level=Alert.Level.WARNING,
                title=_("Daily report of %(node)s for %(day)s is late")
                % {"node": r.jurisdiction.name, "day": r.day.isoformat()},
                jurisdiction_path=r.jpath,
                object_type="command.dailyreport",
                object_id=str(r.pk),
                dedupe_key=f"command.report_late:{r.pk}",
            )
            for r in late
        ]
    )
    return len(late)


# --- bulletins (信息发布) ----------------------------------------------------------------------


def bulletin_generate(*, actor, node, day: dt.date, force: bool = False) -> Bulletin:
    """Generate the day's bulletin from the data as a draft (regenerated while it is still an
    unedited draft, or an edited one with `force`; an approved one is kept)."""
    from .. import bulletin as composer

    _require(actor is None or roles.can_edit_bulletin(actor))
    if actor is not None:
        _within(actor, node.path)
    data = composer.bulletin_data(node=node, day=day)
    title_zh, body_zh = composer.compose(data, "zh-hans")
    title_en, body_en = composer.compose(data, "en")
    with transaction.atomic():
        existing = Bulletin.objects.select_for_update().filter(jurisdiction=node, day=day).first()
        if existing is not None and (
            existing.state != Bulletin.State.DRAFT or (existing.edited and not force)
        ):
            return existing
        fields = dict(
            title_zh=title_zh,
            body_zh=body_zh,
            title_en=title_en,
            body_en=body_en,
            data=data,
        )
        if existing is None:
            bulletin = Bulletin.objects.create(
                jurisdiction=node, jpath=node.path, day=day, created_by=actor, **fields
            )
            audit_created(actor=actor, obj=bulletin, fields={"day": day.isoformat()})
        else:
            before = {"body_zh": existing.body_zh, "edited": existing.edited}
            for key, value in fields.items():
                setattr(existing, key, value)
            existing.edited = False
            existing.save()
            audit_updated(
                actor=actor,
                obj=existing,
                before=before,
                after={"body_zh": existing.body_zh, "edited": False},
            )
            bulletin = existing
    return bulletin


def bulletin_edit(
    *, actor, bulletin: Bulletin, title_zh: str, body_zh: str, title_en: str = "", body_en: str = ""
) -> Bulletin:
    from .. import bulletin as composer

    _require(roles.can_edit_bulletin(actor))
    _within(actor, bulletin.jpath)
    if bulletin.state != Bulletin.State.DRAFT:
        raise CommandRefused(_("only a draft can be edited"))
    if not title_zh.strip() or not body_zh.strip():
        raise CommandRefused(_("the Chinese title and text are required"))
    if any(composer.carries_personal_numbers(t) for t in (title_zh, body_zh, title_en, body_en)):
        raise CommandRefused(
            _("the text contains an ID number or a phone number; a bulletin never publishes them")
        )
    with transaction.atomic():
        before = {"title_zh": bulletin.title_zh, "body_zh": bulletin.body_zh}
        bulletin.title_zh, bulletin.body_zh = title_zh.strip(), body_zh.strip()
        bulletin.title_en, bulletin.body_en = title_en.strip(), body_en.strip()
        bulletin.edited = True
        bulletin.save()
        audit_updated(
            actor=actor,
            obj=bulletin,
            before=before,
            after={"title_zh": bulletin.title_zh, "body_zh": bulletin.body_zh},
        )
    return bulletin


def bulletin_approve(*, actor, bulletin: Bulletin) -> Bulletin:
    _require(roles.can_approve_bulletin(actor))
    _within(actor, bulletin.jpath)
    if bulletin.state != Bulletin.State.DRAFT:
        raise CommandRefused(_("only a draft can be approved"))
    with transaction.atomic():
        bulletin.state = Bulletin.State.APPROVED
        bulletin.approved_by, bulletin.approved_at = actor, timezone.now()
        bulletin.save(update_fields=["state", "approved_by", "approved_at"])
        audit_updated(
            actor=actor, obj=bulletin, before={"state": "draft"}, after={"state": "approved"}
        )
    return bulletin


def bulletin_publish(*, actor, bulletin: Bulletin, pdf_html: str | None = None) -> Bulletin:
    """Publish an approved bulletin; `pdf_html` (its print page) is printed to the stored PDF
    when the server can (see pdf.py), otherwise the PDF link serves the print page."""
    from django.core.files.base import ContentFile

    from .. import pdf

    _require(roles.can_edit_bulletin(actor))
    _within(actor, bulletin.jpath)
    if bulletin.state != Bulletin.State.APPROVED:
        raise CommandRefused(_("a bulletin is published only after approval"))
    document = pdf.html_to_pdf(pdf_html) if pdf_html and pdf.pdf_enabled() else None
    with transaction.atomic():
        bulletin.state = Bulletin.State.PUBLISHED
        bulletin.published_by, bulletin.published_at = actor, timezone.now()
        if document:
            bulletin.pdf.save(
                f"bulletin-{bulletin.day.isoformat()}.pdf", ContentFile(document), save=False
            )
        bulletin.save()
        audit_updated(
            actor=actor, obj=bulletin, before={"state": "approved"}, after={"state": "published"}
        )
    return bulletin
