"""Pages of door-to-door screening: the campaigns, one campaign's coverage (drill-down by node,
overdue grids, unreached households, findings), the grid worker's offline phone page, and the
installable web app's manifest and service worker."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fangkong.common import errors
from fangkong.geo.models import Jurisdiction, Level

from . import roles, selectors, services
from .models import Campaign, Outcome, Question, Vaccination


def _follow(request):
    if not roles.can_follow(request.user):
        raise PermissionDenied


@login_required
def campaigns(request):
    _follow(request)
    may_open = roles.can_open(request.user)
    if request.method == "POST":
        if not may_open:
            raise PermissionDenied
        post = request.POST
        deadline = parse_datetime(post.get("deadline", "") or "")
        try:
            node = selectors.access_node(request.user, post.get("jurisdiction", ""))
            if deadline is None:
                raise services.ScreeningError(_("Give the deadline."), code="deadline_required")
            if timezone.is_naive(deadline):
                deadline = timezone.make_aware(deadline)
            campaign = services.campaign_open(
                actor=request.user,
                jurisdiction=node,
                name=post.get("name", ""),
                deadline=deadline,
                questions=post.getlist("questions") or None,
                risk_days=int(post.get("risk_days") or 14),
            )
        except (errors.DomainError, ValueError) as exc:
            messages.error(request, str(exc))
            return redirect("screening:campaigns")
        messages.success(request, _("Campaign %s opened.") % campaign.code)
        return redirect("screening:campaign", pk=campaign.pk)
    rows = list(selectors.campaign_list(actor=request.user).order_by("-created_at", "-id")[:100])
    totals = selectors.campaign_totals(actor=request.user, campaigns=rows)
    for campaign in rows:
        campaign.figures = totals[campaign.pk]
    nodes = []
    if may_open and request.user.jurisdiction_id:
        mine = request.user.jurisdiction
        nodes = (
            Jurisdiction.objects.filter(path__startswith=mine.path)
            .exclude(level=Level.GRID)
            .order_by("path")[:200]
        )
    default_deadline = timezone.localtime() + dt.timedelta(days=3)
    return render(
        request,
        "screening/campaigns.html",
        {
            "campaigns": rows,
            "may_open": may_open,
            "nodes": nodes,
            "questions": Question.choices,
            "default_deadline": default_deadline.strftime("%Y-%m-%dT%H:%M"),
        },
    )


@login_required
def campaign(request, pk):
    _follow(request)
    item = selectors.access_campaign(request.user, pk)
    node = request.GET.get("node") or None
    figures = selectors.coverage(actor=request.user, campaign=item, node=node)
    unreached = list(selectors.unreached_list(actor=request.user, campaign=item, node=node)[:100])
    findings = list(
        selectors.finding_list(actor=request.user)
        .filter(campaign=item)
        .select_related("visit_person", "control_order")
        .order_by("-created_at", "-id")[:100]
    )
    return render(
        request,
        "screening/campaign.html",
        {
            "campaign": item,
            "figures": figures,
            "node": node,
            "unreached": unreached,
            "findings": findings,
            "may_open": roles.can_open(request.user),
            "is_open": item.status == Campaign.Status.OPEN,
        },
    )


@login_required
@require_POST
def campaign_close(request, pk):
    item = selectors.access_campaign(request.user, pk)
    try:
        services.campaign_close(actor=request.user, campaign=item)
        messages.success(request, _("Campaign closed."))
    except services.ScreeningError as exc:
        messages.error(request, str(exc))
    return redirect("screening:campaign", pk=item.pk)


@login_required
@require_POST
def grid_deadline(request, pk):
    """A grid's own deadline (blank: the campaign's), from the campaign page."""
    item = selectors.access_campaign(request.user, pk)
    if not roles.can_open(request.user):
        raise PermissionDenied
    post = request.POST
    try:
        grid = selectors.access_node(request.user, post.get("grid", ""), level=Level.GRID)
        raw = (post.get("deadline", "") or "").strip()
        deadline = parse_datetime(raw) if raw else None
        if raw and deadline is None:
            raise services.ScreeningError(_("Give the deadline."), code="deadline_required")
        if deadline is not None and timezone.is_naive(deadline):
            deadline = timezone.make_aware(deadline)
        services.grid_deadline_set(actor=request.user, campaign=item, grid=grid, deadline=deadline)
        messages.success(request, _("Deadline of %s set.") % grid.name)
    except errors.DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("screening:campaign", pk=item.pk)


@login_required
@require_POST
def reassign(request, pk):
    """Move a household to another grid (and one of its workers), from the campaign page."""
    item = selectors.access_campaign(request.user, pk)
    if not roles.can_open(request.user):
        raise PermissionDenied
    post = request.POST
    try:
        assignment = selectors.access_assignment_of(request.user, item, post.get("household", ""))
        grid = selectors.access_node(request.user, post.get("grid", ""), level=Level.GRID)
        username = (post.get("worker", "") or "").strip()
        worker = selectors.access_login(request.user, username) if username else None
        services.assignment_reassign(
            actor=request.user, assignment=assignment, grid=grid, worker=worker
        )
        messages.success(request, _("Household re-assigned to %s.") % grid.name)
    except errors.DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("screening:campaign", pk=item.pk)


@login_required
def work(request):
    if not roles.can_visit(request.user):
        raise PermissionDenied
    open_campaigns = list(
        selectors.campaign_list(actor=request.user)
        .filter(status=Campaign.Status.OPEN)
        .order_by("deadline", "id")
    )
    return render(
        request,
        "screening/work.html",
        {
            "campaigns": open_campaigns,
            "outcomes": Outcome.choices,
            "vaccinations": Vaccination.choices,
            "sync_url": reverse("screening-visit-sync"),
            "worklist_url": reverse("screening-campaign-worklist", args=[0]),
            "texts": _texts(),
        },
    )


def _texts() -> dict:
    """The phone page's words, for its script (no inline script under the CSP)."""
    return {
        "online": _("online"),
        "offline": _("offline: visits are kept on the phone"),
        "building": _("Building"),
        "room": _("Room"),
        "visited": _("visited"),
        "pending": _("recorded, waiting to sync"),
        "outcome": _("Outcome"),
        "outcomes": dict(Outcome.choices),
        "met": _("met"),
        "fever": _("fever"),
        "symptoms": _("symptoms"),
        "vaccination": _("vaccination"),
        "vaccinations": {k: str(v) for k, v in Vaccination.choices},
        "arrived_from": _("arrived from (place)"),
        "arrived_on": _("arrived on"),
        "elderly_alone": _("elderly living alone"),
        "special_needs": _("special needs"),
        "someone_else": _("someone else living here (name)"),
        "note": _("note"),
        "save": _("Save visit"),
        "saved": _("Saved on the phone"),
        "fetched": _("worklist of"),
        "no_households": _("No household is assigned to you in this campaign."),
        "dismiss": _("Dismiss"),
        "members": _("registered members"),
    }


@never_cache
def service_worker(request):
    """The service worker, from this URL so that its scope is /screening/ (a script served from
    /static/ could only control /static/)."""
    path = finders.find("screening/sw.js")
    if not path:
        raise Http404
    response = FileResponse(open(path, "rb"), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/screening/"
    return response


def manifest(request):
    """The web app manifest: the visit page installs on the phone's home screen."""
    data = {
        "name": _("Fangkong door-to-door screening"),
        "short_name": _("Door-to-door"),
        "start_url": reverse("screening:work"),
        "scope": "/screening/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b71c1c",
        "lang": request.LANGUAGE_CODE,
        "icons": [
            {"src": static("screening/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            {"src": static("screening/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    return response
