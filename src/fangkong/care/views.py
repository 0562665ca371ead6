"""Pages of the care module: beds of the city, one hospital's bed board, one patient's stay."""

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from fangkong.tracing.models import Severity

from . import roles, selectors, services
from .models import Admission, Bed, Facility

ADMISSIONS_PER_PAGE = 30


def _require(request):
    if not roles.can_manage_care(request.user):
        raise PermissionDenied


@login_required
def overview(request):
    occupancy = selectors.bed_occupancy(actor=request.user)
    page = Paginator(
        selectors.admission_list(actor=request.user).order_by("-admitted_at", "-id"),
        ADMISSIONS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    admissions = list(page)
    return render(
        request,
        "care/overview.html",
        {
            "occupancy": occupancy,
            "admissions": admissions,
            "page": page,
            "counts": selectors.admission_counts(actor=request.user),
            "may_manage": roles.can_manage_care(request.user),
        },
    )


@login_required
@require_POST
def admit(request):
    _require(request)
    case = selectors.case_by_code(request.user, request.POST.get("case", ""))
    facility = None
    if request.POST.get("facility"):
        facility = selectors.access_facility(request.user, request.POST["facility"])
    try:
        admission = services.admission_create(actor=request.user, case=case, facility=facility)
    except services.CareError as exc:
        messages.error(request, str(exc))
        return redirect("care:overview")
    return redirect("care:admission", pk=admission.pk)


@login_required
def board(request, pk):
    facility = selectors.access_facility(request.user, pk)
    occupancy = next(
        r
        for r in selectors.bed_occupancy(actor=request.user)["facilities"]
        if r["facility"].pk == facility.pk
    )
    unit = request.GET.get("unit", "")
    state = request.GET.get("state", "")
    page, units = selectors.bed_board(
        facility=facility,
        page=request.GET.get("page"),
        unit=int(unit) if unit.isdigit() else None,
        state=state or None,
    )
    return render(
        request,
        "care/board.html",
        {
            "facility": facility,
            "units": units,
            "page": page,
            "unit_choices": selectors.unit_list(facility=facility),
            "unit": unit,
            "state": state,
            "states": Bed.State.choices,
            "figures": occupancy,
        },
    )


@login_required
def admission(request, pk):
    stay = selectors.access_admission(request.user, pk)
    if request.method == "POST":
        _require(request)
        step = request.POST.get("step")
        try:
            if step == "severity":
                stay = services.admission_severity_change(
                    actor=request.user,
                    admission=stay,
                    severity=request.POST.get("severity", ""),
                    note=request.POST.get("note", ""),
                )
            elif step == "test":
                sampled = datetime.fromisoformat(request.POST.get("sampled_at", ""))
                services.discharge_test_record(
                    actor=request.user,
                    admission=stay,
                    sampled_at=timezone.make_aware(sampled)
                    if timezone.is_naive(sampled)
                    else sampled,
                    result=request.POST.get("result", ""),
                    ct=request.POST.get("ct") or None,
                )
            elif step == "transfer":
                target = selectors.access_facility(request.user, request.POST.get("facility"))
                stay = services.admission_transfer(
                    actor=request.user, admission=stay, facility=target
                )
            elif step == "discharge":
                services.admission_discharge(actor=request.user, admission=stay)
        except ValueError as exc:  # CareError, and a malformed date from the form
            messages.error(request, str(exc))
        return redirect("care:admission", pk=stay.pk)
    tests = list(stay.tests.all())
    changes = list(stay.severity_changes.all())
    return render(
        request,
        "care/admission.html",
        {
            "stay": stay,
            "tests": tests,
            "changes": changes,
            "blockers": services.discharge_blockers(
                [(t.sampled_at, t.result, t.ct) for t in tests]
            ),
            "severities": Severity.choices,
            "facilities": selectors.facility_list(actor=request.user)
            .filter(active=True)
            .exclude(pk=stay.facility_id)
            .order_by("code"),
            "may_manage": roles.can_manage_care(request.user)
            and stay.status == Admission.Status.ADMITTED,
            "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "kinds": Facility.Kind,
        },
    )
