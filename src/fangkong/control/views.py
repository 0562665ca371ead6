"""Pages of the control module: the board, the grid worker's check list, the room board, the
release notice and the self-report page reached by a signed link without an account."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import roles, selectors, services
from .models import Room

CHECKS_PER_PAGE = 30


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
        return redirect(f"{reverse('control:checks')}?page={request.POST.get('page', '1')}")
    page = Paginator(selectors.check_list(actor=request.user, day=today), CHECKS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    orders = list(page)
    done = selectors.checks_for([o.pk for o in orders], today)
    rows = [(o, (today - o.start_date).days + 1, done.get(o.pk)) for o in orders]
    return render(request, "control/checks.html", {"rows": rows, "today": today, "page": page})


@login_required
def room_board(request, pk):
    """The site's rooms by floor; the desk checks a walk-in into a vacant room, releases an
    occupied one and ends cleaning here (the same services and guards as the API)."""
    site = selectors.access_site(request.user, pk)
    can_act = roles.can_manage_rooms(request.user)
    chosen = None
    found = []
    q = (request.GET.get("q") or "").strip()
    if request.GET.get("room"):
        chosen = selectors.access_room(request.user, request.GET["room"])
        if chosen.site_id != site.pk:
            raise Http404
        if q and can_act and chosen.state == "vacant":
            from fangkong.people.selectors import person_list

            found = list(person_list(actor=request.user, filters={"q": q})[:20])
            orders = {
                o.person_id: o
                for o in selectors.order_list(actor=request.user).filter(
                    person_id__in=[p.pk for p in found]
                )
            }
            found = [(p, orders.get(p.pk)) for p in found]
    floor = request.GET.get("floor", "")
    state = request.GET.get("state", "")
    page, floors = selectors.room_board(
        site=site,
        page=request.GET.get("page"),
        floor=int(floor) if floor.lstrip("-").isdigit() else None,
        state=state or None,
    )
    occupants = selectors.room_occupants_of([room for _n, rooms in floors for room in rooms])
    for _floor, rooms in floors:
        for room in rooms:
            room.occupant = occupants.get(room.pk)
    if chosen is not None and chosen.pk not in occupants:
        occupants.update(selectors.room_occupants_of([chosen]))
    return render(
        request,
        "control/rooms.html",
        {
            "site": site,
            "floors": floors,
            "page": page,
            "floor_numbers": selectors.floor_numbers(site=site),
            "floor": floor,
            "state": state,
            "states": Room.State.choices,
            "chosen": chosen,
            "chosen_order": occupants.get(chosen.pk) if chosen else None,
            "q": q,
            "found": found,
            "can_act": can_act,
            "categories": services.walk_in_categories(),
        },
    )


@login_required
@require_POST
def room_action(request, pk, room_pk):
    site = selectors.access_site(request.user, pk)
    room = selectors.access_room(request.user, room_pk)
    if room.site_id != site.pk:
        raise Http404
    if not roles.can_manage_rooms(request.user):
        raise PermissionDenied
    action = request.POST.get("action", "")
    try:
        if action == "walk_in":
            from fangkong.people.selectors import access_person

            person = access_person(request.user, request.POST.get("person", ""))
            services.room_walk_in(
                actor=request.user,
                room=room,
                person=person,
                category=request.POST.get("category", ""),
            )
            messages.success(
                request,
                _("%(name)s checked into room %(room)s.")
                % {"name": person.name, "room": room.number},
            )
        elif action == "check_out":
            order = selectors.room_occupants(site=site).get(room.pk)
            if order is None:
                raise services.ControlError(_("Nobody is in this room."), code="room_empty")
            services.room_check_out(actor=request.user, order=order)
            messages.success(request, _("Room %s released; it goes to cleaning.") % room.number)
        elif action == "state":
            services.room_state_set(
                actor=request.user, room=room, state=request.POST.get("state", "")
            )
            messages.success(request, _("Room %s updated.") % room.number)
        else:
            raise services.ControlError(_("Unknown action."), code="invalid")
    except services.ControlError as exc:
        messages.error(request, str(exc))
        return redirect(f"{reverse('control:site', args=[site.pk])}?room={room.pk}")
    return redirect("control:site", pk=site.pk)


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
