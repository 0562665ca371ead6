"""Writes of the tracing module: the infectious window, cases and their history."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import events
from fangkong.common.scope import require

from .. import roles
from ..models import Case, CaseEvent, Classification, Contact, FoundBy, LeadState, Severity
from ._common import LOCAL, Conflict, TracingError, _event, _iso

# Days the infectious window reaches back before onset (or the first positive sample), per
# policy preset (shared/DOMAIN.md). A jurisdiction's edited copy keeps its preset's code.
LOOKBACK_DAYS = {"plan-ed8": 2, "plan-ed9": 4, "nov-2022": 4}
DEFAULT_LOOKBACK_DAYS = 4
FIVE_EARLIES = (
    "onset_at",
    "first_visit_at",
    "reported_at",
    "diagnosed_at",
    "isolated_at",
    "admitted_at",
)
RECLASSIFY = {
    Classification.SUSPECTED: {
        Classification.CONFIRMED,
        Classification.ASYMPTOMATIC,
        Classification.EXCLUDED,
    },
    Classification.ASYMPTOMATIC: {Classification.CONFIRMED, Classification.EXCLUDED},
    Classification.CONFIRMED: set(),
    Classification.EXCLUDED: set(),
}


# --- the infectious window ---------------------------------------------------------------------


def lookback_days(path: str) -> int:
    """The look-back of the policy the jurisdiction at `path` (or its nearest ancestor) chose."""
    from fangkong.control.services import ControlError, policy_for

    try:
        policy = policy_for(path)
    except ControlError:
        return DEFAULT_LOOKBACK_DAYS
    return LOOKBACK_DAYS.get(policy.code, DEFAULT_LOOKBACK_DAYS)


def window_derive(case: Case) -> tuple[dt.datetime, dt.datetime | None]:
    """From N days before onset (asymptomatic: before the first positive sample) to isolation.

    The anchor is a calendar date, so the window opens at local midnight; with no onset and no
    sampling date the report date stands in."""
    anchor = case.onset_date or case.sampling_date or case.report_date
    days = lookback_days(case.jpath)
    start = dt.datetime.combine(anchor - dt.timedelta(days=days), dt.time(0), tzinfo=LOCAL)
    return start, case.isolated_at


def _rederive(case: Case) -> None:
    if not case.window_edited:
        case.window_start, case.window_end = window_derive(case)


# --- cases -------------------------------------------------------------------------------------


def _next_code(day: dt.date, attempt: int = 0) -> str:
    """Case numbers run per report date (20220412-001, -002, …); a retry skips ahead."""
    prefix = f"{day:%Y%m%d}-"
    taken = Case.objects.filter(code__startswith=prefix).count()
    return f"{prefix}{taken + 1 + attempt:03d}"


def _has_open_order(person_id: int) -> bool:
    from fangkong.control.models import ControlOrder

    return ControlOrder.objects.filter(
        person_id=person_id, status=ControlOrder.Status.OPEN
    ).exists()


def case_open(
    *,
    actor,
    person,
    classification: str,
    reported_at: dt.datetime | None = None,
    found_by: str = FoundBy.OTHER,
    severity: str = "",
    onset_date: dt.date | None = None,
    sampling_date: dt.date | None = None,
    under_control_when_found: bool | None = None,
    code: str = "",
    source_tube: str = "",
    notes: str = "",
    colocate: bool = True,
    **times,
) -> Case:
    """Open the case of a person (one per person). A person already under a control order, or a
    lead already under control, is "found under control"; a lead becomes the case, links kept."""
    require(actor, roles.can_investigate)
    if classification not in (
        Classification.SUSPECTED,
        Classification.CONFIRMED,
        Classification.ASYMPTOMATIC,
    ):
        raise TracingError(_("A case opens as suspected, confirmed or asymptomatic."))
    if severity and severity not in Severity.values:
        raise TracingError(_("Unknown severity: %s") % severity)
    if found_by not in FoundBy.values:
        raise TracingError(_("Unknown way of finding: %s") % found_by)
    unknown = set(times) - set(FIVE_EARLIES)
    if unknown:
        raise TracingError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    reported_at = reported_at or timezone.now()
    with transaction.atomic():
        if Case.objects.filter(person=person).exists():
            raise Conflict(_("%s already has a case.") % person.name)
        contact = Contact.objects.select_for_update().filter(person=person).first()
        controlled = _has_open_order(person.pk) or (
            contact is not None and contact.state == LeadState.UNDER_CONTROL
        )
        if under_control_when_found is None:
            under_control_when_found = controlled
        if found_by == FoundBy.OTHER and controlled:
            found_by = FoundBy.UNDER_CONTROL
        onset_at = times.get("onset_at")
        if onset_at and not onset_date:
            onset_date = timezone.localdate(onset_at)
        if classification == Classification.CONFIRMED:
            times.setdefault("diagnosed_at", reported_at)
        case = Case(
            person=person,
            jpath=person.jpath,
            classification=classification,
            severity=severity,
            found_by=found_by,
            under_control_when_found=under_control_when_found,
            onset_date=onset_date,
            sampling_date=sampling_date,
            reported_at=reported_at,
            report_date=timezone.localdate(reported_at),
            source_tube=source_tube,
            notes=notes,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            **{k: v for k, v in times.items() if k != "reported_at"},
        )
        _rederive(case)
        for attempt in range(5):
            case.code = code or _next_code(case.report_date, attempt)
            try:
                with transaction.atomic():
                    case.save()
                break
            except IntegrityError:
                if code or attempt == 4:
                    raise Conflict(_("Case number %s is taken.") % case.code) from None
        _event(case, CaseEvent.Kind.OPENED, actor, after=classification, at=reported_at)
        if contact is not None:
            contact.case = case
            contact.save(update_fields=["case", "updated_at"])
        audit_created(
            actor=actor,
            obj=case,
            fields={
                "code": case.code,
                "person": person.pk,
                "classification": classification,
                "found_by": found_by,
                "under_control_when_found": under_control_when_found,
            },
        )
        events.publish(
            "tracing.case_opened",
            case_id=case.pk,
            person_id=person.pk,
            classification=classification,
        )
        if colocate and classification != Classification.SUSPECTED:
            from ..colocation import case_leads_enqueue

            transaction.on_commit(lambda: case_leads_enqueue(case_id=case.pk))
    return case


def case_reclassify(
    *, actor, case: Case, classification: str, note: str = "", at: dt.datetime | None = None
) -> Case:
    """Suspected → confirmed/asymptomatic/excluded, asymptomatic → confirmed/excluded; the case
    keeps its number, links and history (one CaseEvent per change)."""
    require(actor, roles.can_investigate)
    at = at or timezone.now()
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        before = case.classification
        if classification not in RECLASSIFY.get(before, set()):
            raise TracingError(
                _("A case cannot be reclassified from %(a)s to %(b)s.")
                % {"a": Classification(before).label, "b": classification},
                code="reclassify_not_allowed",
            )
        case.classification = classification
        fields = ["classification", "updated_at"]
        if classification == Classification.CONFIRMED and case.diagnosed_at is None:
            case.diagnosed_at = at
            fields.append("diagnosed_at")
        case.save(update_fields=fields)
        _event(
            case,
            CaseEvent.Kind.RECLASSIFIED,
            actor,
            before=before,
            after=classification,
            note=note,
            at=at,
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=case,
            changes={"classification": [before, classification]},
        )
        events.publish(
            "tracing.case_reclassified",
            case_id=case.pk,
            person_id=case.person_id,
            before=before,
            classification=classification,
        )
    return case


def case_severity_set(*, actor, case: Case, severity: str, note: str = "") -> Case:
    require(actor, roles.can_investigate)
    if severity not in Severity.values:
        raise TracingError(_("Unknown severity: %s") % severity)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        before = case.severity
        if before == severity:
            return case
        case.severity = severity
        case.save(update_fields=["severity", "updated_at"])
        _event(case, CaseEvent.Kind.SEVERITY, actor, before=before, after=severity, note=note)
        audit_record(
            actor=actor, action=Action.UPDATE, obj=case, changes={"severity": [before, severity]}
        )
        events.publish("tracing.case_severity", case_id=case.pk, before=before, severity=severity)
    return case


def case_times_set(*, actor, case: Case, onset_date=None, sampling_date=None, **times) -> Case:
    """Record five-earlies moments (and onset/sampling dates); the window follows unless edited."""
    require(actor, roles.can_investigate)
    unknown = set(times) - set(FIVE_EARLIES)
    if unknown:
        raise TracingError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    soon = timezone.now() + dt.timedelta(minutes=10)
    if any(v is not None and v > soon for v in times.values()):
        raise TracingError(
            _("A moment of the five earlies cannot lie in the future."), code="time_in_future"
        )
    if times.get("reported_at") is None:
        times.pop("reported_at", None)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        changes = {}
        for field, value in times.items():
            if getattr(case, field) != value:
                changes[field] = [_iso(getattr(case, field)), _iso(value)]
                setattr(case, field, value)
        if times.get("onset_at") and onset_date is None:
            onset_date = timezone.localdate(times["onset_at"])
        for field, value in (("onset_date", onset_date), ("sampling_date", sampling_date)):
            if value is not None and getattr(case, field) != value:
                changes[field] = [_iso(getattr(case, field)), _iso(value)]
                setattr(case, field, value)
        if "reported_at" in changes:
            case.report_date = timezone.localdate(case.reported_at)
        if not changes:
            return case
        _rederive(case)
        case.save()
        _event(case, CaseEvent.Kind.TIMES, actor, note=", ".join(sorted(changes)))
        audit_record(actor=actor, action=Action.UPDATE, obj=case, changes=changes)
    return case


def case_window_set(
    *, actor, case: Case, start: dt.datetime | None, end: dt.datetime | None, note: str = ""
) -> Case:
    """Edit the infectious window by hand; start None goes back to the derived window."""
    require(actor, roles.can_investigate)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        before = (_iso(case.window_start), _iso(case.window_end))
        if start is None:
            case.window_edited = False
            _rederive(case)
        else:
            if end is not None and end < start:
                raise TracingError(
                    _("The window cannot end before it starts."), code="ends_before_start"
                )
            case.window_start, case.window_end, case.window_edited = start, end, True
        case.save(update_fields=["window_start", "window_end", "window_edited", "updated_at"])
        after = (_iso(case.window_start), _iso(case.window_end))
        _event(
            case,
            CaseEvent.Kind.WINDOW,
            actor,
            before=before[0] or "",
            after=after[0] or "",
            note=note or (_("derived from the policy") if start is None else ""),
        )
        audit_record(
            actor=actor, action=Action.UPDATE, obj=case, changes={"window": [before, after]}
        )
    return case
