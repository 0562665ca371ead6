"""The alert centre page: every module's alerts within the user's subtree, acknowledged in place."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .alerts import (
    alert_acknowledge,
    alert_group_acknowledge,
    alert_groups_page,
    alert_kinds,
    alert_list,
)
from .keyset import keyset_page, page_links
from .models import Alert


@login_required
def alerts(request):
    status = request.GET.get("status", "open")
    kind = request.GET.get("kind") or None
    level = request.GET.get("level") or None
    qs = alert_list(actor=request.user, open_only=status == "open", kind=kind)
    if level in Alert.Level.values:
        qs = qs.filter(level=level)
    page = keyset_page(qs.select_related("acknowledged_by"), request.GET.get("cursor"))
    # Open alerts come grouped by kind and node first (one row per cause, with its count).
    grouped = status == "open" and request.GET.get("view", "groups") == "groups" and level is None
    groups = (
        alert_groups_page(actor=request.user, kind=kind, number=request.GET.get("gpage"))
        if grouped
        else Paginator([], 50).get_page(None)
    )
    kinds = alert_kinds(actor=request.user)
    context = {
        "grouped": grouped,
        "groups": groups,
        "page": page,
        "links": page_links(request, page),
        "status": status,
        "kind": kind or "",
        "level": level or "",
        "kinds": kinds,
        "levels": Alert.Level.choices,
        # The kinds' counts already add up to the open alerts: no second count of the subtree.
        "open_count": sum(n for _kind, _label, n in kinds),
    }
    return render(request, "common/alerts.html", context)


@login_required
@require_POST
def alert_ack(request, pk: int):
    alert = alert_acknowledge(actor=request.user, alert_id=pk)
    if request.htmx:
        return render(request, "common/_alert_row.html", {"alert": alert})
    return redirect(request.POST.get("next") or "common:alerts")


@login_required
@require_POST
def alert_group_ack(request):
    n = alert_group_acknowledge(
        actor=request.user,
        kind=request.POST.get("kind", ""),
        jurisdiction_path=request.POST.get("path", ""),
    )
    messages.success(
        request, ngettext("%(n)d alert acknowledged.", "%(n)d alerts acknowledged.", n) % {"n": n}
    )
    return redirect(request.POST.get("next") or "common:alerts")
