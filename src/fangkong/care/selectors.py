"""Reads of the care module, scoped to the actor's jurisdiction first."""

from django.core.paginator import Paginator
from django.db.models import Case as SqlCase
from django.db.models import Count, Q, QuerySet, Value, When

from fangkong.common.scope import access, fetch, scope_q, scoped
from fangkong.tracing.models import Case

from .models import Admission, Bed, BedType, Facility, Unit


def facility_list(*, actor) -> QuerySet[Facility]:
    return scoped(Facility.objects.all(), actor, "jpath")


def access_facility(actor, pk) -> Facility:
    return access(Facility.objects.all(), actor, "jpath", pk=pk)


def access_bed(actor, pk) -> Bed:
    return access(Bed.objects.select_related("facility"), actor, "facility__jpath", pk=pk)


def admission_list(*, actor, status: str | None = Admission.Status.ADMITTED) -> QuerySet[Admission]:
    """Patients of the actor's hospitals, and the actor's own cases wherever they lie."""
    qs = Admission.objects.filter(scope_q(actor, "jpath") | scope_q(actor, "facility__jpath"))
    qs = qs.select_related("case", "person", "facility", "bed__unit")
    return qs.filter(status=status) if status else qs


def access_admission(actor, pk) -> Admission:
    return fetch(admission_list(actor=actor, status=None), pk=pk)


def access_case(actor, pk) -> Case:
    return access(Case.objects.select_related("person"), actor, "jpath", pk=pk)


def case_by_code(actor, code: str) -> Case:
    return access(Case.objects.select_related("person"), actor, "jpath", code=code.strip())


def _empty() -> dict:
    return {s: 0 for s in Bed.State.values} | {"total": 0}


def bed_occupancy(*, actor) -> dict:
    """Beds by type and state per hospital of the actor's subtree, and the sums: one GROUP BY."""
    facilities = {f.pk: f for f in facility_list(actor=actor).order_by("code")}
    rows = {
        pk: {"facility": f, "types": {t: _empty() for t in BedType.values}, **_empty()}
        for pk, f in facilities.items()
    }
    total = {"types": {t: _empty() for t in BedType.values}, **_empty()}
    for facility_id, bed_type, state, n in (
        Bed.objects.filter(facility_id__in=list(facilities))
        .values_list("facility_id", "bed_type", "state")
        .annotate(n=Count("id"))
        .order_by()
    ):
        row = rows[facility_id]
        for target in (row, row["types"][bed_type], total, total["types"][bed_type]):
            target[state] += n
            target["total"] += n
    for target in [total, *rows.values()]:
        for figures in [target, *target["types"].values()]:
            figures["rate"] = (
                round(100 * figures[Bed.State.OCCUPIED] / figures["total"], 1)
                if figures["total"]
                else None
            )
    return {"facilities": list(rows.values()), "total": total}


BEDS_PER_PAGE = 200


def _unit_order(prefix: str = ""):
    """ICU first, then wards, then cabin units: the order staff walk the board in."""
    return SqlCase(
        When(**{f"{prefix}bed_type": BedType.ICU}, then=Value(0)),
        When(**{f"{prefix}bed_type": BedType.GENERAL}, then=Value(1)),
        default=Value(2),
    )


def bed_board(
    *,
    facility: Facility,
    page=1,
    unit: int | None = None,
    state: str | None = None,
    per_page: int = BEDS_PER_PAGE,
):
    """One page of a hospital's beds (ICU, then wards, then cabin units), each with the case in it
    when occupied: a cabin hospital of 2,000 beds is ten pages, not one wall. `unit` and `state`
    narrow it (a ward; the vacant beds). Returns (page, [(unit, [(bed, stay)])])."""
    beds = Bed.objects.filter(facility=facility).select_related("unit")
    if unit is not None:
        beds = beds.filter(unit_id=unit)
    if state in Bed.State.values:
        beds = beds.filter(state=state)
    beds = beds.annotate(unit_order=_unit_order("unit__")).order_by(
        "unit_order", "unit__number", "number", "id"
    )
    current = Paginator(beds, per_page).get_page(page)
    on_page = list(current)
    # Only this page's patients: one query, however many the hospital holds.
    patients = {
        a.bed_id: a
        for a in Admission.objects.filter(
            facility=facility,
            status=Admission.Status.ADMITTED,
            bed_id__in=[bed.pk for bed in on_page],
        ).select_related("case")
    }
    units: dict[int, tuple] = {}
    for bed in on_page:
        units.setdefault(bed.unit_id, (bed.unit, []))[1].append((bed, patients.get(bed.pk)))
    return current, list(units.values())


def unit_list(*, facility: Facility) -> QuerySet[Unit]:
    """The facility's units in board order, to jump to one."""
    return (
        Unit.objects.filter(facility=facility)
        .annotate(unit_order=_unit_order())
        .order_by("unit_order", "number")
    )


def admission_counts(*, actor) -> dict:
    qs = admission_list(actor=actor, status=None)
    return qs.aggregate(
        admitted=Count("id", filter=Q(status=Admission.Status.ADMITTED)),
        discharged=Count("id", filter=Q(status=Admission.Status.DISCHARGED)),
    )
