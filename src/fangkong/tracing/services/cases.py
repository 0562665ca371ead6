"""Writes of the tracing module: cases and their history, the investigation, contacts and their
leads (candidate → pushed → verified → under control, or excluded), cluster events."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import IO
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_created, audit_fields, audit_record
from fangkong.common import errors, events
from fangkong.common.models import Alert
from fangkong.common.scope import operator_or_actor_path, require

from .. import roles
from ..models import (
    Activity,
    Case,
    CaseEvent,
    Classification,
    ClusterEvent,
    Contact,
    ContactKind,
    ContactLink,
    Exposure,
    FoundBy,
    LeadState,
    Origin,
    Setting,
    Severity,
    Travel,
)

LOCAL = ZoneInfo("Asia/Shanghai")
# Days the infectious window reaches back before onset (or the first positive sample), per
# policy preset (shared/DOMAIN.md). A jurisdiction's edited copy keeps its preset's code.
LOOKBACK_DAYS = {"plan-ed8": 2, "plan-ed9": 4, "nov-2022": 4}
DEFAULT_LOOKBACK_DAYS = 4
# A cluster is at least five linked cases (plan ed. 7).
CLUSTER_MIN_CASES = 5
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
CATEGORY_OF_KIND = {ContactKind.CLOSE: "close_contact", ContactKind.SECONDARY: "secondary_contact"}
OPEN_LEAD_STATES = (LeadState.CANDIDATE, LeadState.PUSHED, LeadState.VERIFIED)


class TracingError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Conflict(TracingError, errors.Conflict):
    pass


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


def _event(case, kind, actor, *, before="", after="", note="", at=None) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        from_value=str(before or "")[:64],
        to_value=str(after or "")[:64],
        note=note[:255],
        at=at or timezone.now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


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
                % {"a": Classification(before).label, "b": classification}
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
        raise TracingError(_("A moment of the five earlies cannot lie in the future."))
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


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


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
                raise TracingError(_("The window cannot end before it starts."))
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


# --- the investigation -------------------------------------------------------------------------


def activity_add(
    *,
    actor,
    case: Case,
    setting: str,
    place: str,
    start: dt.datetime,
    end: dt.datetime | None = None,
    address: str = "",
    companions: str = "",
    public: bool = False,
    place_jpath: str = "",
) -> Activity:
    require(actor, roles.can_investigate)
    if setting not in Setting.values:
        raise TracingError(_("Unknown setting: %s") % setting)
    if not place.strip():
        raise TracingError(_("Name the place."))
    if end is not None and end < start:
        raise TracingError(_("An activity cannot end before it starts."))
    with transaction.atomic():
        activity = Activity.objects.create(
            case=case,
            setting=setting,
            place=place.strip(),
            address=address,
            start=start,
            end=end,
            companions=companions,
            public=public,
            place_jpath=place_jpath or case.jpath,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=activity,
            jurisdiction_path=case.jpath,
            changes={"place": [None, activity.place], "start": [None, start.isoformat()]},
        )
    return activity


def exposure_add(
    *,
    actor,
    case: Case,
    setting: str,
    place: str = "",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    source_case: Case | None = None,
    notes: str = "",
) -> Exposure:
    if setting not in Setting.values:
        raise TracingError(_("Unknown setting: %s") % setting)
    if source_case is not None and source_case.pk == case.pk:
        raise TracingError(_("A case cannot be its own source."))
    if start and end and end < start:
        raise TracingError(_("An exposure cannot end before it starts."))
    with transaction.atomic():
        exposure = Exposure.objects.create(
            case=case,
            setting=setting,
            place=place,
            start=start,
            end=end,
            source_case=source_case,
            notes=notes,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=exposure,
            jurisdiction_path=case.jpath,
            changes={
                "setting": [None, setting],
                "source_case": [None, getattr(source_case, "pk", None)],
            },
        )
    return exposure


def travel_add(
    *,
    actor,
    case: Case,
    origin: str,
    destination: str,
    departed_at,
    arrived_at=None,
    mode="",
    reference="",
) -> Travel:
    require(actor, roles.can_investigate)
    if arrived_at and arrived_at < departed_at:
        raise TracingError(_("A journey cannot arrive before it departs."))
    with transaction.atomic():
        travel = Travel.objects.create(
            case=case,
            origin=origin,
            destination=destination,
            departed_at=departed_at,
            arrived_at=arrived_at,
            mode=mode,
            reference=reference,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=travel,
            jurisdiction_path=case.jpath,
            changes={"route": [None, f"{origin}→{destination}"]},
        )
    return travel


# --- contacts and leads ------------------------------------------------------------------------


def contact_add(
    *,
    actor,
    person,
    setting: str,
    last_exposure_at: dt.datetime,
    source_case: Case | None = None,
    source_contact: Contact | None = None,
    kind: str | None = None,
    origin: str = Origin.INVESTIGATION,
    episodes: int = 1,
    overlap_minutes=None,
    push: bool = True,
) -> Contact:
    """Add an exposure of a person to a case (close contact) or to a contact (secondary).

    One lead per person: a second exposure merges into the existing lead (the closer kind and the
    latest exposure win); a lead excluded before this exposure opens again. An epidemiologist's
    contact is pushed to the person's grid at once."""
    require(actor, roles.can_investigate)
    if (source_case is None) == (source_contact is None):
        raise TracingError(_("A contact is exposed to one case or to one contact."))
    if setting not in Setting.values:
        raise TracingError(_("Unknown setting: %s") % setting)
    kind = kind or (ContactKind.CLOSE if source_case is not None else ContactKind.SECONDARY)
    if kind not in ContactKind.values:
        raise TracingError(_("Unknown kind of contact: %s") % kind)
    if source_case is not None and source_case.person_id == person.pk:
        raise TracingError(_("A case cannot be its own contact."))
    if source_contact is not None and source_contact.person_id == person.pk:
        raise TracingError(_("A contact cannot be their own contact."))
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(person=person).first()
        if contact is None:
            contact = Contact.objects.create(
                person=person,
                jpath=person.jpath,
                kind=kind,
                setting=setting,
                last_exposure_at=last_exposure_at,
                origin=origin,
                case=Case.objects.filter(person=person).first(),
            )
            audit_created(
                actor=actor,
                obj=contact,
                fields={
                    "person": person.pk,
                    "kind": kind,
                    "origin": origin,
                    "state": contact.state,
                },
            )
        else:
            _merge_into(
                actor, contact, kind=kind, setting=setting, last_exposure_at=last_exposure_at
            )
        link = ContactLink.objects.filter(
            contact=contact, source_case=source_case, source_contact=source_contact, origin=origin
        ).first()
        if link is None:
            ContactLink.objects.create(
                contact=contact,
                source_case=source_case,
                source_contact=source_contact,
                setting=setting,
                last_exposure_at=last_exposure_at,
                origin=origin,
                episodes=episodes,
                overlap_minutes=overlap_minutes,
            )
        elif last_exposure_at > link.last_exposure_at:
            link.last_exposure_at = last_exposure_at
            link.setting = setting
            link.save(update_fields=["last_exposure_at", "setting"])
        if push and contact.state == LeadState.CANDIDATE and contact.case_id is None:
            leads_push(actor=actor, contact_ids=[contact.pk])
            contact.refresh_from_db()
    return contact


def lead_merge(*, state: str, last_exposure_at, verified_at, exposure_at) -> tuple[bool, bool]:
    """The one rule for a further exposure of a person who is already a lead, for the single
    contact and for co-location's set-based merge: (newer, reopen). A later exposure becomes the
    lead's last exposure and setting; a lead excluded before it opens again as a candidate (the
    grid has to look again)."""
    newer = exposure_at > last_exposure_at
    reopen = (
        newer and state == LeadState.EXCLUDED and (verified_at is None or exposure_at > verified_at)
    )
    return newer, reopen


def _merge_into(actor, contact: Contact, *, kind, setting, last_exposure_at) -> None:
    before = {"kind": contact.kind, "state": contact.state, "last": _iso(contact.last_exposure_at)}
    if kind == ContactKind.CLOSE:
        contact.kind = ContactKind.CLOSE
    newer, reopen = lead_merge(
        state=contact.state,
        last_exposure_at=contact.last_exposure_at,
        verified_at=contact.verified_at,
        exposure_at=last_exposure_at,
    )
    if newer:
        contact.last_exposure_at = last_exposure_at
        contact.setting = setting
    if reopen:
        contact.state = LeadState.CANDIDATE
        contact.excluded_reason = ""
    after = {"kind": contact.kind, "state": contact.state, "last": _iso(contact.last_exposure_at)}
    if after != before:
        contact.save()
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=contact,
            changes={k: [before[k], after[k]] for k in after if before[k] != after[k]}
            | {"merged": [None, True]},
        )


def leads_push(*, actor, contact_ids) -> int:
    """Candidates to their home grids: one UPDATE, one alert per grid and one audit entry per
    lead in bulk, whatever the number of leads."""
    now = timezone.now()
    ids = list(contact_ids)
    pushed: list[tuple[int, str]] = []
    with transaction.atomic():
        for start in range(0, len(ids), 2000):
            chunk = ids[start : start + 2000]
            qs = Contact.objects.filter(pk__in=chunk, state=LeadState.CANDIDATE)
            rows = list(qs.values_list("id", "jpath"))
            qs.update(state=LeadState.PUSHED, pushed_at=now)
            pushed += rows
        if not pushed:
            return 0
        per_grid = Counter(path for _id, path in pushed)
        stamp = now.strftime("%Y%m%d%H%M%S%f")
        Alert.objects.bulk_create(
            [
                Alert(
                    kind="tracing_leads",
                    level=Alert.Level.WARNING,
                    title=(_("%(n)s new contact leads to verify") % {"n": n})[:200],
                    jurisdiction_path=path,
                    object_type="tracing.contact",
                    dedupe_key=f"tracing:push:{stamp}:{path}"[:200],
                )
                for path, n in sorted(per_grid.items())
            ],
            ignore_conflicts=True,
        )
        who = audit_fields(actor)
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    **who,
                    action=Action.UPDATE,
                    object_type="tracing.contact",
                    object_id=str(pk),
                    object_repr=f"contact #{pk}",
                    jurisdiction_path=path,
                    changes={"state": [LeadState.CANDIDATE, LeadState.PUSHED]},
                )
                for pk, path in pushed
            ],
            batch_size=2000,
        )
    return len(pushed)


def _transition(actor, contact: Contact, allowed, state: str, **fields) -> Contact:
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if locked.state not in allowed:
            raise Conflict(
                _("A lead in state “%(state)s” cannot become “%(to)s”.")
                % {"state": LeadState(locked.state).label, "to": LeadState(state).label}
            )
        before = locked.state
        locked.state = state
        for key, value in fields.items():
            setattr(locked, key, value)
        locked.save()
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=locked,
            changes={
                "state": [before, state],
                **{
                    k: [None, _iso(v) if isinstance(v, dt.datetime) else getattr(v, "pk", v)]
                    for k, v in fields.items()
                },
            },
        )
    return locked


def lead_verify(*, actor, contact: Contact, reachable: bool = True, note: str = "") -> Contact:
    """The grid worker found the person (reachable) — or could not: the lead stays on the list,
    marked unreachable, and the grid's alert says so."""
    require(actor, roles.can_work_leads)
    who = actor if getattr(actor, "is_authenticated", False) else None
    if not reachable:
        with transaction.atomic():
            if contact.state != LeadState.PUSHED:
                raise Conflict(_("Only a pushed lead is verified."))
            Contact.objects.filter(pk=contact.pk).update(reachable=False, note=note[:255])
            from fangkong.common.alerts import alert_raise

            alert_raise(
                kind="tracing_unreachable",
                title=_("Contact lead not reachable: %s") % contact.person.name,
                body=note,
                jurisdiction_path=contact.jpath,
                obj=contact,
                dedupe_key=f"tracing:unreachable:{contact.pk}",
            )
            audit_record(
                actor=actor, action=Action.UPDATE, obj=contact, changes={"reachable": [None, False]}
            )
        contact.refresh_from_db()
        return contact
    return _transition(
        actor,
        contact,
        (LeadState.PUSHED,),
        LeadState.VERIFIED,
        reachable=True,
        verified_at=timezone.now(),
        verified_by=who,
        note=note[:255],
    )


def lead_exclude(*, actor, contact: Contact, reason: str) -> Contact:
    require(actor, roles.can_work_leads)
    reason = (reason or "").strip()
    if not reason:
        raise TracingError(_("Give the reason for excluding the lead."))
    return _transition(
        actor,
        contact,
        OPEN_LEAD_STATES,
        LeadState.EXCLUDED,
        excluded_reason=reason[:200],
        verified_at=timezone.now(),
        verified_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def lead_control(*, actor, contact: Contact, start: dt.datetime | None = None) -> Contact:
    """A verified lead under control: the control module opens the order under the person's
    jurisdiction's policy; a person already under an open order keeps that order."""
    require(actor, roles.can_work_leads)
    from fangkong.control import services as control
    from fangkong.control.models import ControlOrder

    if contact.state != LeadState.VERIFIED:
        raise Conflict(_("Only a verified lead is put under control."))
    with transaction.atomic():
        try:
            with transaction.atomic():
                order = control.control_order_open(
                    actor=actor,
                    person=contact.person,
                    category=CATEGORY_OF_KIND[contact.kind],
                    start=start or timezone.now(),
                    reason=_("Contact of a case"),
                    source=_("Contact tracing"),
                )
        except control.Conflict:
            order = ControlOrder.objects.get(person=contact.person, status=ControlOrder.Status.OPEN)
        except control.ControlError as exc:
            raise TracingError(str(exc)) from exc
        return _transition(
            actor,
            contact,
            (LeadState.VERIFIED,),
            LeadState.UNDER_CONTROL,
            control_order=order,
            controlled_at=timezone.now(),
        )


LEAD_EXPORT_COLUMNS = [
    "contact_id",
    "name",
    "id_number",
    "phone",
    "grid",
    "state",
    "kind",
    "setting",
    "source_cases",
    "source_contacts",
    "last_exposure_at",
    "origin",
    "note",
    "excluded_reason",
]


def leads_export(*, actor, out: IO, state: str = "", unmasked: bool = False) -> int:
    """Write the actor's worklist (selectors.worklist: their subtree, the same state filter) to
    `out` as CSV, UTF-8 with BOM, in LEAD_EXPORT_COLUMNS; times in Asia/Shanghai.

    ID numbers and phones are masked unless `unmasked` — the caller decides, by role, with
    accounts.roles.can_see_pii, as for the population export. Reads in chunks (two queries a
    chunk), writes one audit entry (action export) and returns the number of rows."""
    # Imported here: selectors import this module (CLUSTER_MIN_CASES).
    from fangkong.common.imports import CHUNK_SIZE, write_table
    from fangkong.common.masking import mask_id_number, mask_phone
    from fangkong.common.scope import actor_path

    from ..selectors import worklist

    def shaped():
        for lead in worklist(actor=actor, state=state).iterator(chunk_size=CHUNK_SIZE):
            person = lead.person
            number, phone = person.document_number, person.phone
            if not unmasked:
                number, phone = mask_id_number(number), mask_phone(phone)
            links = lead.links.all()
            yield (
                lead.pk,
                person.name,
                number,
                phone,
                person.grid.code if person.grid_id else "",
                lead.state,
                lead.kind,
                lead.setting,
                ";".join(link.source_case.code for link in links if link.source_case_id),
                ";".join(str(link.source_contact_id) for link in links if link.source_contact_id),
                timezone.localtime(lead.last_exposure_at, LOCAL).strftime("%Y-%m-%d %H:%M:%S"),
                lead.origin,
                lead.note,
                lead.excluded_reason,
            )

    count = write_table(out, fmt="csv", header=LEAD_EXPORT_COLUMNS, rows=shaped())
    audit_record(
        actor=actor,
        action=Action.EXPORT,
        object_type="tracing.contact",
        jurisdiction_path=actor_path(actor) or "",
        changes={"rows": count, "unmasked": unmasked, "format": "csv", "state": state},
    )
    return count


# --- clusters ----------------------------------------------------------------------------------


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
