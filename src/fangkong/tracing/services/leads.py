"""Writes of the tracing module: contacts and their leads (candidate → pushed → verified → under
control, or excluded)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import IO

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_created, audit_fields, audit_record
from fangkong.common.models import Alert
from fangkong.common.scope import require

from .. import roles
from ..models import Case, Contact, ContactKind, ContactLink, LeadState, Origin, Setting
from ._common import LOCAL, Conflict, TracingError, _iso

CATEGORY_OF_KIND = {ContactKind.CLOSE: "close_contact", ContactKind.SECONDARY: "secondary_contact"}
OPEN_LEAD_STATES = (LeadState.CANDIDATE, LeadState.PUSHED, LeadState.VERIFIED)


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
        raise TracingError(_("A case cannot be its own contact."), code="own_contact")
    if source_contact is not None and source_contact.person_id == person.pk:
        raise TracingError(_("A contact cannot be their own contact."), code="own_contact")
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
        raise TracingError(_("Give the reason for excluding the lead."), code="reason_required")
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
            # The control module's code travels with its message.
            raise TracingError(str(exc), code=exc.code, fields=exc.fields) from exc
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
