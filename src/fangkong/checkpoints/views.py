"""Pages of the checkpoints module: the registration page (one form, phone-sized, htmx) and the
transfer board."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.control.models import ControlOrder
from fangkong.people.models import DocumentType

from . import roles, selectors, services
from .api import grid_by_code
from .models import HealthCode, Passenger


def _checkpoint(request):
    checkpoints = list(
        selectors.checkpoint_list(actor=request.user).filter(active=True).order_by("code")
    )
    wanted = request.POST.get("checkpoint") or request.GET.get("checkpoint")
    if wanted:
        return checkpoints, selectors.access_checkpoint(request.user, wanted)
    return checkpoints, (checkpoints[0] if checkpoints else None)


def _recent(request, checkpoint):
    if checkpoint is None:
        return [], {}
    arrivals = list(
        selectors.arrival_list(actor=request.user)
        .filter(checkpoint=checkpoint)
        .order_by("-registered_at", "-id")[:20]
    )
    return arrivals, selectors.arrivals_today(actor=request.user, checkpoint=checkpoint)


@login_required
def register(request):
    checkpoints, checkpoint = _checkpoint(request)
    context = {
        "checkpoints": checkpoints,
        "checkpoint": checkpoint,
        "document_types": DocumentType.choices,
        "codes": HealthCode.choices,
        "may_register": roles.can_register(request.user),
    }
    if request.method == "POST":
        if not roles.can_register(request.user) or checkpoint is None:
            raise PermissionDenied
        post = request.POST
        try:
            arrival = services.arrival_register(
                actor=request.user,
                checkpoint=checkpoint,
                document_type=post.get("document_type") or DocumentType.RESIDENT_ID,
                document_number=post.get("document_number", ""),
                name=post.get("name", ""),
                phone=post.get("phone", ""),
                origin=post.get("origin", ""),
                abroad=post.get("abroad") == "1",
                temperature=post.get("temperature", ""),
                health_code=post.get("health_code", ""),
                destination=post.get("destination", ""),
                destination_grid=grid_by_code(post.get("destination_grid", "").split(" ")[0]),
                sex=post.get("sex", ""),
                birth_date=post.get("birth_date") or None,
            )
            context["arrival"] = arrival
        except (services.CheckpointError, ValueError) as exc:
            context["error"] = str(exc)
        context["recent"], context["today"] = _recent(request, checkpoint)
        if request.htmx:
            return render(request, "checkpoints/_result.html", context)
        if context.get("error"):
            messages.error(request, context["error"])
        return redirect(f"{request.path}?checkpoint={checkpoint.pk}")
    context["recent"], context["today"] = _recent(request, checkpoint)
    return render(request, "checkpoints/register.html", context)


@login_required
def grids(request):
    """htmx partial: <option>s of destination grids of the city matching the typed text."""
    nodes = selectors.grid_options(actor=request.user, q=request.GET.get("destination_grid", ""))
    return render(request, "checkpoints/_grids.html", {"nodes": nodes})


@login_required
def transfers(request):
    checkpoints = list(selectors.checkpoint_list(actor=request.user).order_by("code"))
    board = selectors.transfer_board(actor=request.user)
    waiting = list(selectors.awaiting_transfer(actor=request.user)[:200])
    return render(
        request,
        "checkpoints/transfers.html",
        {
            "board": board,
            "waiting": waiting,
            "checkpoints": checkpoints,
            "sites": selectors.drop_off_sites(actor=request.user),
            "may_transfer": roles.can_transfer(request.user),
            "now": timezone.now(),
        },
    )


def _require_transfer(request):
    if not roles.can_transfer(request.user):
        raise PermissionDenied


@login_required
@require_POST
def transfer_create(request):
    _require_transfer(request)
    checkpoint = selectors.access_checkpoint(request.user, request.POST.get("checkpoint"))
    site = (
        selectors.drop_off_sites(actor=request.user)
        .filter(pk=request.POST.get("site") or 0)
        .first()
    )
    wanted = [int(x) for x in request.POST.getlist("orders") if x.isdigit()]
    # Only people registered at the caller's checkpoints may be put on board.
    order_ids = set(
        selectors.arrival_list(actor=request.user)
        .filter(order_id__in=wanted, checkpoint=checkpoint)
        .values_list("order_id", flat=True)
    )
    if site is None or not wanted or order_ids != set(wanted):
        messages.error(request, _("Choose a site and the people on board."))
        return redirect("checkpoints:transfers")
    try:
        services.transfer_create(
            actor=request.user,
            checkpoint=checkpoint,
            site=site,
            vehicle=request.POST.get("vehicle", ""),
            driver=request.POST.get("driver", ""),
            driver_phone=request.POST.get("driver_phone", ""),
            orders=list(
                ControlOrder.objects.filter(pk__in=order_ids).select_related("person", "room")
            ),
        )
    except services.CheckpointError as exc:
        messages.error(request, str(exc))
    return redirect("checkpoints:transfers")


@login_required
@require_POST
def transfer_advance(request, pk):
    transfer = selectors.access_transfer(request.user, pk)
    _require_transfer(request)
    try:
        services.transfer_advance(actor=request.user, transfer=transfer)
    except services.CheckpointError as exc:
        messages.error(request, str(exc))
    return redirect("checkpoints:transfers")


@login_required
@require_POST
def passenger_check_in(request, pk):
    passenger: Passenger = selectors.access_passenger(request.user, pk)
    _require_transfer(request)
    try:
        services.passenger_check_in(actor=request.user, passenger=passenger)
    except services.CheckpointError as exc:
        messages.error(request, str(exc))
    return redirect("checkpoints:transfers")
