"""Writes of the command centre: response levels, risk areas and their review, proposals."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record, audit_updated
from fangkong.common import events
from fangkong.common.models import Alert

from .. import roles
from ..models import Proposal, ResponseLevel, RiskArea
from ..policy import DOWNGRADES, LEVELS_OF_PRESET
from ._common import CommandRefused, _bulk_alerts, _require, _within

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
        raise CommandRefused(
            _("the response level is I, II, III or IV"), code="response_level_unknown"
        )
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
        events.publish("command.response_level_declared", level_id=record.pk, jpath=node.path)
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
        raise CommandRefused(
            _("declare the area on either a node or a building"), code="node_or_building"
        )
    if level not in LEVELS_OF_PRESET.get(preset, ()):
        raise CommandRefused(
            _("the level %(level)s is not part of the preset %(preset)s")
            % {"level": level, "preset": preset},
            code="level_not_in_preset",
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
        events.publish("command.risk_area_changed", area_id=area.pk, jpath=path)
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
        if after["ended_on"] != before["ended_on"] and not area.external:
            events.publish("command.risk_area_changed", area_id=area.pk, jpath=area.jpath)
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
        raise CommandRefused(_("the proposal was already decided"), code="already_decided")
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
            events.publish("command.risk_area_changed", area_id=area.pk, jpath=area.jpath)
    return proposal
