"""Writes of the command centre: inspections against a checklist and their findings."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import errors
from fangkong.common.models import Alert
from fangkong.common.scope import path_within

from .. import roles
from ..models import Answer, CheckItem, ChecklistTemplate, Finding, Inspection, Unit
from ._common import CommandRefused, _bulk_alerts, _require, _within


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
        raise CommandRefused(
            _("check items not answered: %(count)s") % {"count": len(missing)},
            code="items_unanswered",
        )
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
        raise CommandRefused(_("describe each finding"), code="finding_note_required")
    if flagged and deadline is None:
        raise CommandRefused(
            _("a finding needs a rectification deadline"), code="deadline_required"
        )
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
        raise CommandRefused(_("describe what was done as evidence"), code="evidence_required")
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
        raise CommandRefused(
            _("only a rectified finding can be accepted"), code="finding_not_rectified"
        )
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
        raise CommandRefused(
            _("only a rectified finding can be sent back"), code="finding_not_rectified"
        )
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
