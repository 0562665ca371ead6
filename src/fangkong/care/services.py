"""Writes of the care module: hospitals and beds, admissions, severity, transfers, discharge."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Case as When_
from django.db.models import IntegerField, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import errors, events, paths
from fangkong.common.alerts import alert_raise
from fangkong.common.scope import require
from fangkong.common.states import place_state_set
from fangkong.control import services as control
from fangkong.control.models import Category, ControlOrder
from fangkong.tracing.models import Case, Classification, Severity

from . import roles
from .models import Admission, Bed, BedType, DischargeTest, Facility, SeverityChange, Unit

UNIT_BEDS = 20  # one nursing unit per 20 beds (cabin hospitals); wards and ICUs likewise
FANGCANG_MIN, FANGCANG_MAX = 200, 3000
DISCHARGE_GAP = timedelta(hours=24)
DISCHARGE_CT = Decimal("35")


class CareError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Conflict(CareError, errors.Conflict):
    pass


class NoBed(Conflict):
    code = "no_bed"


def bed_type_for(classification: str, severity: str) -> str:
    """Critical cases need an ICU; mild and asymptomatic ones a cabin bed; the rest a ward bed."""
    if classification == Classification.EXCLUDED:
        raise CareError(_("An excluded case is not admitted."), code="case_excluded")
    if severity == Severity.CRITICAL:
        return BedType.ICU
    if classification == Classification.ASYMPTOMATIC or severity == Severity.MILD:
        return BedType.FANGCANG
    return BedType.GENERAL


# --- hospitals and beds ------------------------------------------------------------------------


def facility_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    jurisdiction,
    address: str = "",
    icu_beds: int = 0,
    general_beds: int = 0,
    fangcang_beds: int = 0,
) -> Facility:
    """A hospital with its units of 20 beds: beds numbered unit-bed (e.g. ICU1-07, W3-12, U12-20)."""
    if kind == Facility.Kind.FANGCANG:
        if icu_beds or general_beds:
            raise CareError(_("A cabin hospital has cabin beds only."))
        if not FANGCANG_MIN <= fangcang_beds <= FANGCANG_MAX:
            raise CareError(_("A cabin hospital has 200 to 3,000 beds."), code="cabin_bed_count")
    elif kind == Facility.Kind.DESIGNATED:
        if fangcang_beds:
            raise CareError(_("A designated hospital has ICU and ward beds."))
        if icu_beds + general_beds < 1:
            raise CareError(_("A hospital needs at least one bed."))
    else:
        raise CareError(_("Unknown kind of hospital."))
    prefixes = {BedType.ICU: "ICU", BedType.GENERAL: "W", BedType.FANGCANG: "U"}
    with transaction.atomic():
        facility = Facility.objects.create(
            code=code,
            name=name,
            kind=kind,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            address=address,
        )
        plan = [
            (bed_type, n)
            for bed_type, n in (
                (BedType.ICU, icu_beds),
                (BedType.GENERAL, general_beds),
                (BedType.FANGCANG, fangcang_beds),
            )
            if n
        ]
        units = Unit.objects.bulk_create(
            Unit(facility=facility, number=u, bed_type=bed_type)
            for bed_type, n in plan
            for u in range(1, (n + UNIT_BEDS - 1) // UNIT_BEDS + 1)
        )
        beds = []
        by_type = {}
        for unit in units:
            by_type.setdefault(unit.bed_type, []).append(unit)
        for bed_type, n in plan:
            for i in range(n):
                unit = by_type[bed_type][i // UNIT_BEDS]
                beds.append(
                    Bed(
                        facility=facility,
                        unit=unit,
                        bed_type=bed_type,
                        number=f"{prefixes[bed_type]}{unit.number}-{i % UNIT_BEDS + 1:02d}",
                    )
                )
        Bed.objects.bulk_create(beds, batch_size=2000)
        audit_created(
            actor=actor,
            obj=facility,
            fields={
                "code": code,
                "kind": kind,
                "icu": icu_beds,
                "general": general_beds,
                "fangcang": fangcang_beds,
            },
        )
    return facility


def bed_state_set(*, actor, bed: Bed, state: str) -> Bed:
    """Disinfection done (cleaning → vacant), or a bed taken out of / back into service."""
    require(actor, roles.can_manage_care)
    return place_state_set(
        actor=actor,
        place=bed,
        state=state,
        jpath=bed.facility.jpath,
        refused=lambda a, b: CareError(
            _("A bed cannot go from %(a)s to %(b)s.") % {"a": a, "b": b},
            code="bed_state_refused",
        ),
        changed=lambda: Conflict(_("The bed changed meanwhile; reload.")),
    )


def _take_bed(*, bed_type: str, near: str, facility: Facility | None = None) -> Bed | None:
    """Lock one vacant bed of the type: in the facility if given, else nearest district first,
    then the rest of the city. Beds locked by a concurrent admission are skipped, not waited for,
    and the state update below re-checks, so two admissions never get one bed."""
    qs = Bed.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        state=Bed.State.VACANT, bed_type=bed_type, facility__active=True
    )
    if facility is not None:
        qs = qs.filter(facility=facility)
    else:
        qs = qs.filter(facility__jpath__startswith=paths.prefix(near, 2)).annotate(
            near=When_(
                When(facility__jpath__startswith=paths.prefix(near, 3), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
    order = ["facility__code", "unit__number", "number"]
    if facility is None:
        order.insert(0, "near")
    for bed in qs.select_related("facility").order_by(*order)[:1]:
        if Bed.objects.filter(pk=bed.pk, state=Bed.State.VACANT).update(state=Bed.State.OCCUPIED):
            bed.state = Bed.State.OCCUPIED
            return bed
    return None


def _no_bed(bed_type: str) -> NoBed:
    return NoBed(_("No vacant %(type)s.") % {"type": BedType(bed_type).label})


def admission_create(
    *, actor, case: Case, facility: Facility | None = None, at: datetime | None = None
) -> Admission:
    """Admit a case to a bed of the type its class and severity need; sets Case.admitted_at and
    ends the person's control order (they leave the isolation room for the hospital)."""
    require(actor, roles.can_manage_care)
    bed_type = bed_type_for(case.classification, case.severity)
    if facility is not None and not facility.active:
        raise CareError(_("The hospital is not in service."))
    now = at or timezone.now()
    with transaction.atomic():
        if Admission.objects.filter(case=case, status=Admission.Status.ADMITTED).exists():
            raise Conflict(
                _("Case %s is already in hospital.") % case.code, code="already_admitted"
            )
        bed = _take_bed(bed_type=bed_type, near=case.jpath, facility=facility)
        if bed is None:
            raise _no_bed(bed_type)
        admission = Admission.objects.create(
            case=case,
            person_id=case.person_id,
            jpath=case.jpath,
            facility=bed.facility,
            bed=bed,
            classification=case.classification,
            severity=case.severity,
            admitted_at=now,
            admitted_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        Case.objects.filter(pk=case.pk, admitted_at__isnull=True).update(
            admitted_at=now, updated_at=timezone.now()
        )
        order = ControlOrder.objects.filter(
            person_id=case.person_id, status=ControlOrder.Status.OPEN
        ).first()
        if order is not None:
            control.control_order_cancel(
                actor=actor, order=order, reason=_("Admitted to hospital as case %s") % case.code
            )
        audit_created(
            actor=actor,
            obj=admission,
            fields={"case": case.code, "facility": bed.facility.code, "bed": bed.number},
        )
        events.publish("care.admitted", admission_id=admission.pk, case_id=case.pk)
    return admission


def _locked(admission: Admission) -> Admission:
    admission = (
        Admission.objects.select_for_update(of=("self",))
        .select_related("bed", "facility", "case")
        .get(pk=admission.pk)
    )
    if admission.status != Admission.Status.ADMITTED:
        raise CareError(_("The patient is no longer in this hospital."), code="not_admitted")
    return admission


def _free(bed: Bed) -> None:
    Bed.objects.filter(pk=bed.pk).update(state=Bed.State.CLEANING)


def admission_severity_change(
    *, actor, admission: Admission, severity: str, note: str = ""
) -> Admission:
    """Record the new severity (history row + one UPDATE of the case); when it needs another
    bed type, move the patient to such a bed in the same hospital, or alert if there is none."""
    require(actor, roles.can_manage_care)
    if severity not in Severity.values:
        raise CareError(_("Unknown severity."))
    now = timezone.now()
    with transaction.atomic():
        admission = _locked(admission)
        before = admission.case.severity
        if before == severity:
            raise CareError(
                _("The severity is already %s.") % Severity(severity).label,
                code="severity_unchanged",
            )
        SeverityChange.objects.create(
            admission=admission,
            case_id=admission.case_id,
            before=before,
            after=severity,
            note=note,
            changed_at=now,
            changed_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        Case.objects.filter(pk=admission.case_id).update(severity=severity, updated_at=now)
        admission.case.severity = severity
        admission.severity = severity
        changes = {"severity": [before, severity]}
        needed = bed_type_for(admission.case.classification, severity)
        if needed != admission.bed.bed_type:
            bed = _take_bed(bed_type=needed, near=admission.jpath, facility=admission.facility)
            if bed is not None:
                _free(admission.bed)
                changes["bed"] = [admission.bed.number, bed.number]
                admission.bed = bed
            else:
                alert_raise(
                    kind="care_bed_needed",
                    level="critical" if needed == BedType.ICU else "warning",
                    title=_("%(case)s needs a %(type)s; none free in %(facility)s")
                    % {
                        "case": admission.case.code,
                        "type": BedType(needed).label,
                        "facility": admission.facility.name,
                    },
                    jurisdiction_path=admission.facility.jpath,
                    obj=admission,
                    dedupe_key=f"care:{admission.pk}:needs:{needed}:{now:%Y%m%d%H%M}",
                )
        admission.save(update_fields=["severity", "bed"])
        audit_record(actor=actor, action=Action.UPDATE, obj=admission, changes=changes)
    return admission


def admission_transfer(
    *, actor, admission: Admission, facility: Facility, at: datetime | None = None
) -> Admission:
    """Move a patient to another hospital: this stay ends, the next one starts in a bed there."""
    require(actor, roles.can_manage_care)
    if facility.pk == admission.facility_id:
        raise CareError(_("The patient is already in this hospital."), code="same_hospital")
    now = at or timezone.now()
    with transaction.atomic():
        admission = _locked(admission)
        bed_type = bed_type_for(admission.case.classification, admission.case.severity)
        bed = _take_bed(bed_type=bed_type, near=admission.jpath, facility=facility)
        if bed is None:
            raise _no_bed(bed_type)
        _free(admission.bed)
        admission.status = Admission.Status.TRANSFERRED
        admission.ended_at = now
        admission.save(update_fields=["status", "ended_at"])
        new = Admission.objects.create(
            case=admission.case,
            person_id=admission.person_id,
            jpath=admission.jpath,
            facility=facility,
            bed=bed,
            classification=admission.case.classification,
            severity=admission.case.severity,
            admitted_at=now,
            previous=admission,
            admitted_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=admission,
            changes={
                "facility": [admission.facility.code, facility.code],
                "bed": [None, bed.number],
            },
        )
    return new


def discharge_test_record(
    *, actor, admission: Admission, sampled_at: datetime, result: str, ct=None
) -> DischargeTest:
    require(actor, roles.can_manage_care)
    if result not in DischargeTest.Result.values:
        raise CareError(_("A result is negative or positive."))
    if ct is not None and ct != "":
        try:
            ct = Decimal(str(ct)).quantize(Decimal("0.1"))
        except InvalidOperation as exc:
            raise CareError(_("A Ct value is a number, e.g. 36.5.")) from exc
        if not Decimal("0") < ct <= Decimal("45"):
            raise CareError(_("A Ct value lies between 0 and 45."), code="ct_out_of_range")
    else:
        ct = None
    if timezone.is_naive(sampled_at):
        raise CareError(_("The sampling time needs a time zone."))
    if sampled_at > timezone.now() + timedelta(minutes=5):
        raise CareError(_("The sampling time lies in the future."))
    with transaction.atomic():
        if admission.status != Admission.Status.ADMITTED:
            raise CareError(_("The patient is no longer in this hospital."), code="not_admitted")
        test = DischargeTest.objects.create(
            admission=admission,
            sampled_at=sampled_at,
            result=result,
            ct=ct,
            recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=test,
            jurisdiction_path=admission.jpath,
            changes={"result": [None, result], "ct": [None, str(ct) if ct is not None else None]},
        )
    return test


def qualifies(result: str, ct) -> bool:
    """Plan ed. 9: a test counts towards discharge when negative, or positive with Ct ≥ 35."""
    return result == DischargeTest.Result.NEGATIVE or (ct is not None and ct >= DISCHARGE_CT)


def discharge_blockers(tests) -> list[str]:
    """Plan ed. 9: the last two tests in a row each negative or Ct ≥ 35, sampled ≥ 24 h apart.

    `tests` are (sampled_at, result, ct); the run of qualifying tests at the end counts, so a
    failing test in between starts the count again."""
    run = []
    for sampled_at, result, ct in sorted(tests, key=lambda t: t[0], reverse=True):
        if not qualifies(result, ct):
            break
        run.append(sampled_at)
    if len(run) < 2:
        return [
            _("Two tests in a row, each negative or with Ct ≥ 35, are needed (%(n)s so far).")
            % {"n": len(run)}
        ]
    if run[0] - run[-1] < DISCHARGE_GAP:
        return [_("The two qualifying tests must be sampled at least 24 hours apart.")]
    return []


def admission_discharge(*, actor, admission: Admission, at: datetime | None = None) -> Admission:
    """Discharge under the ed. 9 rule, free the bed, and start post-discharge monitoring (a
    control order of the category 'released', under the person's policy)."""
    require(actor, roles.can_manage_care)
    now = at or timezone.now()
    with transaction.atomic():
        admission = _locked(admission)
        blockers = discharge_blockers(admission.tests.values_list("sampled_at", "result", "ct"))
        if blockers:
            raise CareError(" ".join(blockers), code="discharge_not_met")
        _free(admission.bed)
        person = admission.case.person
        try:
            order = control.control_order_open(
                actor=actor,
                person=person,
                category=Category.RELEASED,
                start=now,
                reason=_("Post-discharge health monitoring of case %s") % admission.case.code,
                source=admission.facility.name[:60],
            )
        except control.ControlError as exc:
            raise CareError(str(exc)) from exc
        admission.status = Admission.Status.DISCHARGED
        admission.ended_at = now
        admission.released_order = order
        admission.save(update_fields=["status", "ended_at", "released_order"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=admission,
            changes={"status": ["admitted", "discharged"], "order": [None, order.pk]},
        )
        events.publish("care.discharged", admission_id=admission.pk, case_id=admission.case_id)
    return admission
