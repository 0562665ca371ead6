"""Pages of the population registry: search, person detail, import with its error report, export."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fangkong.accounts.roles import can_import_people, can_see_pii
from fangkong.common import registry
from fangkong.common.api import rejected_csv_response
from fangkong.common.imports import job_errors
from fangkong.common.keyset import keyset_page, page_links
from fangkong.common.models import ImportJob
from fangkong.common.selectors import access_import_job, import_job_list
from fangkong.geo.widgets import JurisdictionPicker

from . import selectors
from .api import export_response, import_upload
from .models import Sex, Tag
from .privacy import birth_fields, masked, person_pii_reveal


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Name, ID number or phone"), required=False)
    jurisdiction = forms.CharField(
        label=_("Jurisdiction"), required=False, widget=JurisdictionPicker()
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=[("", "—"), *Sex.choices], required=False)
    tag = forms.TypedChoiceField(
        label=_("Tag"),
        choices=[("", "—"), *Tag.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    age_min = forms.IntegerField(label=_("Age from"), min_value=0, max_value=130, required=False)
    age_max = forms.IntegerField(label=_("Age to"), min_value=0, max_value=130, required=False)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("CSV or XLSX file"))


@login_required
def search(request):
    form = SearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = keyset_page(
        selectors.person_list(actor=request.user, filters=filters), request.GET.get("cursor")
    )
    rows = [
        (person, masked(person), birth_fields(request.user, person, selectors.age(person)))
        for person in page
    ]
    template = "people/_results.html" if request.htmx else "people/search.html"
    return render(
        request,
        template,
        {"form": form, "page": page, "rows": rows, "links": page_links(request, page)},
    )


@login_required
def detail(request, person_id: int):
    person = selectors.access_person(request.user, person_id)
    return render(
        request,
        "people/detail.html",
        {
            "person": person,
            "masked": masked(person),
            "birth": birth_fields(request.user, person, selectors.age(person)),
            "members": [
                (m, birth_fields(request.user, m, selectors.age(m)))
                for m in selectors.household_members(actor=request.user, person=person)
            ],
            "may_reveal": can_see_pii(request.user),
            # Tested, under control, a case or a lead: what other modules know of the person.
            "status": [
                row
                for provider in registry.person_status_providers()
                for row in registry.load(provider)(actor=request.user, person=person)
            ],
        },
    )


@login_required
@require_POST
def reveal(request, person_id: int):
    """htmx partial: the full ID number and phone, audited."""
    person = selectors.access_person(request.user, person_id)
    return render(
        request,
        "people/_pii.html",
        {"pii": person_pii_reveal(actor=request.user, person=person), "revealed": True},
    )


@login_required
def import_page(request):
    if not can_import_people(request.user):
        raise PermissionDenied
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_upload(actor=request.user, upload=form.cleaned_data["file"])
        if job.status == ImportJob.Status.QUEUED:
            messages.info(
                request, _("The file is queued; its report appears below when it has run.")
            )
            return redirect("people:import")
        return redirect("people:import-job", job_id=job.pk)
    jobs = import_job_list(actor=request.user, kind="people")[:20]
    return render(request, "people/import.html", {"form": form, "jobs": jobs})


@login_required
def import_job(request, job_id: int):
    job = access_import_job(request.user, job_id)
    errors = job_errors(actor=request.user, job=job)
    return render(request, "people/import_job.html", {"job": job, "errors": errors})


@login_required
def import_rejected(request, job_id: int):
    return rejected_csv_response(actor=request.user, job_id=job_id)


@login_required
def export(request, fmt: str):
    return export_response(actor=request.user, fmt=fmt)
