"""Pages of the control module: the board, the grid worker's check list, the room board, the
release notice and the self-report page reached by a signed link without an account."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from . import roles, selectors, services


@login_required
def board(request):
    node = selectors.actor_node(request.user)
    if node is None:
        raise PermissionDenied
    data = selectors.control_board(actor=request.user, node=node)
    sites = selectors.site_occupancy(actor=request.user)
    return render(
        request,
        "control/board.html",
        {"data": data, "sites": sites, "reserve": selectors.reserve(node=node)},
    )


@login_required
def checks(request):
    today = timezone.localdate()
    if request.method == "POST":
        if not roles.can_manage_orders(request.user):
            raise PermissionDenied
        order = selectors.access_order(request.user, request.POST.get("order"))
        try:
            services.health_check_record(
                actor=request.user,
                order=order,
                temperature=request.POST.get("temperature", ""),
                symptoms=request.POST.get("symptoms", ""),
            )
        except services.ControlError as exc:
            messages.error(request, str(exc))
        return redirect("control:checks")
    orders = list(selectors.check_list(actor=request.user, day=today)[:500])
    done = selectors.checks_for([o.pk for o in orders], today)
    rows = [(o, (today - o.start_date).days + 1, done.get(o.pk)) for o in orders]
    return render(request, "control/checks.html", {"rows": rows, "today": today})


@login_required
def room_board(request, pk):
    site = selectors.access_site(request.user, pk)
    return render(
        request, "control/rooms.html", {"site": site, "floors": selectors.room_board(site=site)}
    )


@login_required
def release_notice(request, pk):
    order = selectors.access_order(request.user, pk)
    if order.status != "released":
        raise Http404
    return render(request, "control/release_notice.html", {"order": order})


def self_report(request, token):
    # A forged link is 404; an ended order's or a revoked link is 410 with the reason
    # (DomainErrorMiddleware renders both).
    order = services.selfreport_order(token)
    done = False
    error = ""
    if request.method == "POST":
        try:
            services.health_check_record(
                actor=None,
                order=order,
                temperature=request.POST.get("temperature", ""),
                symptoms=request.POST.get("symptoms", ""),
                source="self",
            )
            done = True
        except services.ControlError as exc:
            error = str(exc)
    return render(
        request, "control/self_report.html", {"order": order, "done": done, "error": error}
    )
