"""Pages of the vaccination module: coverage, the grid lists, recording a dose, the import, AEFI."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.common import errors
from fangkong.common.api import rejected_csv_response
from fangkong.common.imports import job_errors
from fangkong.common.models import ImportJob
from fangkong.common.selectors import access_import_job, import_job_list

from . import roles, selectors, services
from .api import import_upload
from .models import Aefi
from .schedule import NextKind

KIND_LABELS = {
    NextKind.PRIMARY: _("next dose of the course"),
    NextKind.BOOSTER: _("booster"),
    NextKind.SECOND_BOOSTER: _("second booster"),
}


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


@login_required
def coverage_page(request):
    node = selectors.node_for(request.user, request.GET.get("node"))
    data = selectors.coverage_of(actor=request.user, node=node)
    parents = selectors.breadcrumbs(request.user, node)
    return render(
        request,
        "vaccination/coverage.html",
        {
            "data": data,
            "node": node,
            "parents": parents,
            "may_list": roles.can_work_lists(request.user),
        },
    )


@login_required
def lists(request):
    _require(roles.can_work_lists(request.user))
    kind = request.GET.get("kind", "unvaccinated")
    if kind not in ("unvaccinated", "overdue"):
        kind = "unvaccinated"
    code = request.GET.get("grid") or ""
    grid, problem = None, ""
    try:
        grid = selectors.grid_for(request.user, code or None)
    except errors.Invalid as exc:
        problem = str(exc)
    rows, page = [], None
    if grid is not None:
        source = (
            selectors.unvaccinated_list(actor=request.user, grid=grid)
            if kind == "unvaccinated"
            else selectors.overdue_list(actor=request.user, grid=grid)
        )
        page = Paginator(source, 100).get_page(request.GET.get("page"))
        if kind == "unvaccinated":
            rows = [{"p": selectors.person_row(request.user, p)} for p in page]
        else:
            rows = [
                {
                    **r,
                    "p": selectors.person_row(request.user, r["person"]),
                    "kind_label": KIND_LABELS[r["kind"]],
                }
                for r in page
            ]
        selectors.audit_list_view(
            actor=request.user, grid=grid, kind=kind, person_ids=[r["p"]["id"] for r in rows]
        )
    return render(
        request,
        "vaccination/lists.html",
        {"grid": grid, "kind": kind, "rows": rows, "page": page, "problem": problem, "code": code},
    )


@login_required
def record(request):
    _require(roles.can_record_dose(request.user))
    sites = selectors.site_list(actor=request.user).filter(active=True)
    if request.method == "POST":
        try:
            person = selectors.person_by_number(request.user, request.POST.get("id_number", ""))
            given = request.POST.get("given_at", "")
            given_at = timezone.now()
            if given:
                try:
                    given_at = timezone.make_aware(dt.datetime.fromisoformat(given))
                except ValueError as exc:
                    raise errors.Invalid(_("Give the time as YYYY-MM-DD HH:MM.")) from exc
            dose = services.dose_record(
                actor=request.user,
                person=person,
                product=selectors.access_product(request.POST.get("product")),
                lot=request.POST.get("lot", ""),
                site=selectors.access_site(request.user, request.POST.get("site")),
                given_at=given_at,
            )
        except errors.NotFound:
            messages.error(request, _("Nobody in your jurisdiction has this number."))
        except errors.DomainError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                _("Dose %(n)s recorded for %(name)s.")
                % {"n": dose.dose_number, "name": person.name},
            )
        return redirect("vaccination:record")
    recent = (
        selectors.dose_list(actor=request.user)
        .filter(recorded_by=request.user)
        .order_by("-id")[:20]
    )
    return render(
        request,
        "vaccination/record.html",
        {
            "sites": sites,
            "products": selectors.product_list(),
            "recent": [(d, selectors.person_row(request.user, d.person)) for d in recent],
            "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))


@login_required
def import_page(request):
    _require(roles.can_import_doses(request.user))
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_upload(actor=request.user, upload=form.cleaned_data["file"])
        if job.status == ImportJob.Status.QUEUED:
            messages.info(
                request, _("The file is queued; its report appears below when it has run.")
            )
            return redirect("vaccination:import")
        return redirect("vaccination:import-job", job_id=job.pk)
    jobs = import_job_list(actor=request.user, kind="vaccination_doses")[:20]
    return render(request, "vaccination/import.html", {"form": form, "jobs": jobs})


@login_required
def import_job(request, job_id: int):
    job = access_import_job(request.user, job_id)
    if job.kind != "vaccination_doses":
        raise errors.NotFound()
    return render(
        request,
        "vaccination/import_job.html",
        {"job": job, "errors": job_errors(actor=request.user, job=job)},
    )


@login_required
def import_rejected(request, job_id: int):
    return rejected_csv_response(actor=request.user, job_id=job_id)


@login_required
def aefi_list(request):
    _require(roles.can_read_aefi(request.user))
    if request.method == "POST":
        _require(roles.can_report_aefi(request.user))
        try:
            person = selectors.person_by_number(request.user, request.POST.get("id_number", ""))
            dose = (
                selectors.dose_list(actor=request.user, person=person)
                .filter(dose_number=request.POST.get("dose_number") or 0)
                .first()
            )
            if dose is None:
                raise errors.Invalid(_("This person has no such dose on file."))
            try:
                onset = timezone.make_aware(
                    dt.datetime.fromisoformat(request.POST.get("onset_at", ""))
                )
            except ValueError as exc:
                raise errors.Invalid(_("Give the onset as YYYY-MM-DD HH:MM.")) from exc
            aefi = services.aefi_report(
                actor=request.user,
                dose=dose,
                onset_at=onset,
                symptoms=request.POST.get("symptoms", ""),
                severity=request.POST.get("severity", ""),
            )
        except errors.NotFound:
            messages.error(request, _("Nobody in your jurisdiction has this number."))
        except errors.DomainError as exc:
            messages.error(request, str(exc.fields or exc))
        else:
            return redirect("vaccination:aefi-detail", pk=aefi.pk)
        return redirect("vaccination:aefi-list")
    status = request.GET.get("status") or None
    if status not in Aefi.Status.values:
        status = None
    items = selectors.aefi_list(actor=request.user, status=status).order_by("-onset_at", "-id")
    page = Paginator(items, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "vaccination/aefi_list.html",
        {
            "page": page,
            "rows": [(a, selectors.person_row(request.user, a.person)) for a in page],
            "status": status,
            "statuses": Aefi.Status.choices,
            "severities": Aefi.Severity.choices,
            "may_report": roles.can_report_aefi(request.user),
            "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        },
    )


@login_required
def aefi_detail(request, pk: int):
    _require(roles.can_read_aefi(request.user))
    aefi = selectors.access_aefi(request.user, pk)
    if request.method == "POST":
        _require(roles.can_report_aefi(request.user))
        try:
            services.aefi_follow_up(
                actor=request.user,
                aefi=aefi,
                status=request.POST.get("status", ""),
                note=request.POST.get("note", ""),
            )
        except errors.DomainError as exc:
            messages.error(request, str(exc.fields or exc))
        return redirect("vaccination:aefi-detail", pk=aefi.pk)
    return render(
        request,
        "vaccination/aefi_detail.html",
        {
            "aefi": aefi,
            "p": selectors.person_row(request.user, aefi.person),
            "steps": aefi.follow_ups.select_related("by"),
            "next": [
                (value, label)
                for value, label in Aefi.Status.choices
                if value in services.FOLLOW_UP.get(aefi.status, set())
            ],
            "may_follow": roles.can_report_aefi(request.user),
        },
    )
