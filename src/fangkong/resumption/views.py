"""Pages of resumption (status per district, applications and their decision, the workforce) and
the readiness page (reserves against targets, a task from each gap)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fangkong.command import roles as command_roles
from fangkong.common import errors, imports
from fangkong.common.masking import mask_id_number, mask_phone

from . import readiness, roles, selectors, services
from .models import Application, Worker


class ApplicationForm(forms.Form):
    organisation = forms.TypedChoiceField(label=_("Enterprise or school"), coerce=int)
    resume_on = forms.DateField(
        label=_("Resumes on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    duty_officer = forms.CharField(label=_("Duty officer"), max_length=60)
    duty_phone = forms.CharField(label=_("Duty officer's phone"), max_length=20)
    staff_count = forms.IntegerField(label=_("Staff or students"), min_value=1)
    nonlocal_staff = forms.IntegerField(label=_("Of them from elsewhere"), min_value=0)
    canteen = forms.CharField(label=_("Canteen arrangements"), max_length=300)
    dormitory = forms.CharField(label=_("Dormitory arrangements"), max_length=300)
    masks = forms.IntegerField(label=_("Masks in stock"), min_value=0)
    thermometers = forms.IntegerField(label=_("Thermometers in stock"), min_value=0)
    plan = forms.CharField(label=_("Prevention plan"), widget=forms.Textarea(attrs={"rows": 5}))


class WorkerForm(forms.Form):
    document_number = forms.CharField(label=_("ID number"), max_length=32)
    name = forms.CharField(label=_("Name"), max_length=60)
    kind = forms.ChoiceField(label=_("Staff or student"), choices=Worker.Kind.choices)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    origin = forms.CharField(label=_("Coming from"), max_length=200)
    arrival_date = forms.DateField(
        label=_("Arrival date"), widget=forms.DateInput(attrs={"type": "date"})
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or XLSX: id_number, name, origin, arrival_date, kind, phone")
    )


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


@login_required
def overview(request):
    """Status per district and the applications; an officer sees their own organisations."""
    _require(roles.can_read(request.user))
    status = request.GET.get("status", "")
    if status and status not in Application.Status.values:
        raise errors.Invalid(_("Unknown status."))
    listing = selectors.application_list(actor=request.user, status=status or None)
    page = Paginator(listing, 50).get_page(request.GET.get("page"))
    node = request.user.jurisdiction
    board = (
        selectors.district_status(actor=request.user, node=node)
        if node is not None and not roles.is_officer_only(request.user)
        else None
    )
    return render(
        request,
        "resumption/overview.html",
        {
            "board": board,
            "page": page,
            "status": status,
            "statuses": Application.Status.choices,
            "organisations": selectors.organisation_list(actor=request.user),
            "can_file": roles.can_file(request.user),
        },
    )


@login_required
def apply(request):
    """The officer files an application with the prevention plan."""
    _require(roles.can_file(request.user))
    organisations = list(selectors.organisation_list(actor=request.user))
    form = ApplicationForm(request.POST or None)
    form.fields["organisation"].choices = [(o.pk, o.name) for o in organisations]
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        organisation = selectors.access_organisation(request.user, data.pop("organisation"))
        try:
            application = services.application_submit(
                actor=request.user, organisation=organisation, **data
            )
        except services.ResumptionError as exc:
            form.add_error(None, str(exc))
            for field, message in exc.fields.items():
                if field in form.fields:
                    form.add_error(field, str(message))
        else:
            messages.success(request, _("Application filed."))
            return redirect("resumption:application", pk=application.pk)
    return render(request, "resumption/apply.html", {"form": form})


@login_required
def application_detail(request, pk: int):
    _require(roles.can_read(request.user))
    application = selectors.access_application(request.user, pk)
    return render(
        request,
        "resumption/application.html",
        {
            "application": application,
            "duty_phone": mask_phone(application.duty_phone),
            "can_decide": roles.can_decide(request.user)
            and application.status == Application.Status.PENDING,
        },
    )


@login_required
@require_POST
def application_decide(request, pk: int):
    _require(roles.can_decide(request.user))
    application = selectors.access_application(request.user, pk)
    decision = request.POST.get("decision", "")
    try:
        if decision == "approve":
            services.application_approve(actor=request.user, application=application)
            messages.success(request, _("Approved."))
        elif decision == "return":
            services.application_return(
                actor=request.user, application=application, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("Returned with the reasons."))
        else:
            raise errors.Invalid(_("Approve or return."), code="unknown_decision")
    except services.ResumptionError as exc:
        messages.error(request, str(exc))
    return redirect("resumption:application", pk=application.pk)


@login_required
def organisation_detail(request, pk: int):
    """An organisation's applications and workforce; its officer registers and imports staff."""
    _require(roles.can_read(request.user))
    organisation = selectors.access_organisation(request.user, pk)
    can_file = roles.can_file(request.user)
    form = WorkerForm(request.POST or None) if can_file else None
    upload = ImportForm() if can_file else None
    job = None
    if request.method == "POST":
        _require(can_file)
        if "file" in request.FILES:
            upload = ImportForm(request.POST, request.FILES)
            if upload.is_valid():
                job = services.workers_import(
                    actor=request.user,
                    organisation=organisation,
                    source=upload.cleaned_data["file"],
                    filename=upload.cleaned_data["file"].name,
                )
            form = WorkerForm()
        elif form.is_valid():
            try:
                worker = services.worker_register(
                    actor=request.user, organisation=organisation, **form.cleaned_data
                )
            except services.ResumptionError as exc:
                form.add_error(None, str(exc))
            else:
                if worker.order_id:
                    messages.warning(
                        request,
                        _("From a risk area: %(measure)s from today.")
                        % {"measure": worker.order.get_measure_display()},
                    )
                else:
                    messages.success(request, _("Registered."))
                return redirect("resumption:organisation", pk=organisation.pk)
    workers = Paginator(
        selectors.worker_list(actor=request.user, organisation=organisation), 100
    ).get_page(request.GET.get("page"))
    rows = [
        {
            "worker": w,
            "document_number": mask_id_number(w.document_number),
            "phone": mask_phone(w.phone),
        }
        for w in workers
    ]
    return render(
        request,
        "resumption/organisation.html",
        {
            "organisation": organisation,
            "applications": selectors.application_list(actor=request.user).filter(
                organisation=organisation
            ),
            "workers": workers,
            "rows": rows,
            "form": form,
            "upload": upload,
            "job": job,
            "job_reasons": imports.error_reasons(job) if job is not None else [],
        },
    )


def _node(request):
    return selectors.access_node(
        request.user, request.GET.get("node") or request.POST.get("node") or None
    )


@login_required
def readiness_page(request):
    """Reserves against targets for one node (the user's, or one below it), gaps first."""
    _require(roles.can_read_readiness(request.user))
    node = _node(request)
    state = readiness.readiness(actor=request.user, node=node)
    return render(
        request,
        "resumption/readiness.html",
        {
            **state,
            "children": selectors.node_children(actor=request.user, node=node),
            "parent": selectors.node_parent(actor=request.user, node=node),
            "can_dispatch": command_roles.can_dispatch(request.user),
        },
    )


@login_required
@require_POST
def readiness_dispatch(request):
    """One click: a task from a gap, to the group that owns it."""
    _require(command_roles.can_dispatch(request.user))
    node = _node(request)
    try:
        task = readiness.gap_dispatch(
            actor=request.user, node=node, key=request.POST.get("key", "")
        )
    except readiness.ReadinessError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Task dispatched: %(title)s") % {"title": task.title},
        )
    return redirect(reverse("resumption:readiness") + f"?node={node.code}")
