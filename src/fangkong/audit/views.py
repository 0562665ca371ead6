"""The auditor's search page over the audit log."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .models import Action
from .selectors import audit_list


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=_("User"), required=False)
    action = forms.ChoiceField(
        label=_("Action"), choices=[("", "—"), *Action.choices], required=False
    )
    object_type = forms.CharField(label=_("Object type"), required=False)
    object_id = forms.CharField(label=_("Object id"), required=False)
    since = forms.DateTimeField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateTimeField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@login_required
def audit_search(request):
    form = AuditSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(audit_list(actor=request.user, filters=filters), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "audit/list.html", {"form": form, "page": page})
