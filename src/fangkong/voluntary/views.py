"""Pages of voluntary testing: the resident's phone pages (no account: book a slot, show the QR
code, cancel, look up one's own results) and the staff's schedule and booking pages."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from fangkong.accounts.roles import can_see_pii
from fangkong.common import errors
from fangkong.common.masking import mask_id_number, mask_phone
from fangkong.testing.models import Site

from . import qr, roles, selectors, services
from .forms import BookingForm, LookupForm, ScheduleForm

SESSION_KEY = "voluntary_bookings"
DAYS_AHEAD = 3  # today and the next two days


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _days() -> list[dt.date]:
    today = timezone.localdate()
    return [today + dt.timedelta(days=i) for i in range(DAYS_AHEAD)]


def _remember(request, token: str) -> None:
    tokens = [t for t in request.session.get(SESSION_KEY, []) if t != token]
    request.session[SESSION_KEY] = [token, *tokens][:5]


def _my_bookings(request) -> list:
    found = []
    for token in request.session.get(SESSION_KEY, []):
        try:
            found.append(services.booking_by_token(token))
        except errors.NotFound:
            continue
    return found


def index(request):
    return render(request, "voluntary/index.html", {"bookings": _my_bookings(request)})


@never_cache
def book(request):
    """Pick a day, a site and a time, give ID number and name: the booking and its QR code."""
    days = _days()
    try:
        day = dt.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = days[0]
    if day not in days:
        day = days[0]
    site_code = request.GET.get("site", "")[:40]
    error, status = None, 200
    form = BookingForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                booking = services.booking_create(
                    slot_id=form.cleaned_data["slot"],
                    id_number=form.cleaned_data["id_number"],
                    name=form.cleaned_data["name"],
                    ip=_ip(request),
                )
            except errors.DomainError as exc:
                error, status = exc, exc.status
            else:
                _remember(request, booking.token)
                return redirect("voluntary:mine")
        else:
            error, status = errors.Invalid(_("Fill in every field.")), 400
    slots = list(selectors.open_slots(day=day, site_code=site_code))
    sites: dict[int, dict] = {}
    for slot in slots:
        entry = sites.setdefault(slot.site_id, {"site": slot.site, "slots": []})
        entry["slots"].append(slot)
    return render(
        request,
        "voluntary/book.html",
        {
            "days": days,
            "day": day,
            "site_code": site_code,
            "sites": list(sites.values()),
            "form": form,
            "error": error,
            "chosen": str(form.data.get("slot", "")),
        },
        status=status,
    )


@never_cache
def mine(request):
    """The bookings this phone made, each with its QR code for the sampling desk; cancel one."""
    error, status = None, 200
    if request.method == "POST":
        token = request.POST.get("token", "")
        if token not in request.session.get(SESSION_KEY, []):
            raise Http404
        try:
            services.booking_cancel(token=token, ip=_ip(request))
            messages.success(request, _("The booking is cancelled."))
            return redirect("voluntary:mine")
        except errors.DomainError as exc:
            error, status = exc, exc.status
    rows = [
        {"booking": b, "svg": qr.svg(b.qr_payload) if b.status == b.Status.BOOKED else ""}
        for b in _my_bookings(request)
    ]
    return render(request, "voluntary/mine.html", {"rows": rows, "error": error}, status=status)


@never_cache
def qr_png(request):
    """The QR code of one of this phone's bookings as a PNG, to keep in the photo album."""
    tokens = request.session.get(SESSION_KEY, [])
    token = request.GET.get("token", "")
    if token not in tokens:
        raise Http404
    booking = services.booking_by_token(token)
    response = HttpResponse(qr.png(booking.qr_payload), content_type="image/png")
    response["Content-Disposition"] = f'attachment; filename="booking-{booking.day}.png"'
    return response


@never_cache
def results(request):
    """Own results: ID number, then the code sent by SMS to the phone on record."""
    form = LookupForm(request.POST or None)
    context = {"form": form, "sent": None, "error": None, "lookup": None}
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            context["error"], status = errors.Invalid(_("Fill in the ID number.")), 400
        else:
            number = form.cleaned_data["id_number"]
            try:
                if request.POST.get("step") == "verify":
                    lookup = services.lookup_results(
                        id_number=number, code=form.cleaned_data["code"], ip=_ip(request)
                    )
                    for booking in lookup.bookings:
                        _remember(request, booking.token)
                    context["lookup"] = lookup
                else:
                    context["sent"] = services.lookup_code_send(id_number=number, ip=_ip(request))
            except errors.DomainError as exc:
                context["error"], status = exc, exc.status
                context["sent"] = request.POST.get("step") == "verify"
    return render(request, "voluntary/results.html", context, status=status)


# ------------------------------------------------------------------ staff


@login_required
def staff(request):
    """The sites of the actor's subtree that take voluntary bookings, today's figures, and a
    form to start bookings at another site."""
    if not roles.can_view_bookings(request.user):
        raise PermissionDenied
    if request.method == "POST":
        if not roles.can_manage_schedules(request.user):
            raise PermissionDenied
        site = (
            selectors.site_choices(actor=request.user)
            .filter(code=request.POST.get("site", ""))
            .first()
        )
        form = ScheduleForm(request.POST)
        if site is None:
            raise Http404
        if form.is_valid():
            try:
                schedule = services.schedule_set(actor=request.user, site=site, **form.cleaned_data)
                return redirect("voluntary:schedule", pk=schedule.pk)
            except errors.DomainError as exc:
                messages.error(request, str(exc))
        else:
            messages.error(request, _("Check the hours, minutes and places."))
    today = timezone.localdate()
    schedules = list(selectors.schedule_list(actor=request.user))
    slots = selectors.slot_list(actor=request.user, day=today)
    figures: dict[int, dict] = {}
    for slot in slots:
        f = figures.setdefault(slot.site_id, {"capacity": 0, "booked": 0})
        f["capacity"] += slot.capacity
        f["booked"] += slot.booked
    rows = [(s, figures.get(s.site_id, {"capacity": 0, "booked": 0})) for s in schedules]
    return render(
        request,
        "voluntary/staff.html",
        {
            "rows": rows,
            "today": today,
            "choices": selectors.site_choices(actor=request.user),
            "form": ScheduleForm(),
            "can_manage": roles.can_manage_schedules(request.user),
        },
    )


@login_required
def schedule(request, pk):
    """One site: its schedule, the day's slots with places and bookings (masked)."""
    found = selectors.access_schedule(request.user, pk)
    can_manage = roles.can_manage_schedules(request.user)
    try:
        day = dt.date.fromisoformat(request.GET.get("day", "") or request.POST.get("day", ""))
    except ValueError:
        day = timezone.localdate()
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        try:
            action = request.POST.get("action")
            if action == "open":
                services.slots_open(actor=request.user, schedule=found, day=day)
                messages.success(request, _("The day's slots are open for booking."))
            elif action == "capacity":
                slot = selectors.access_slot(request.user, request.POST.get("slot"))
                if slot.site_id != found.site_id:
                    raise Http404
                services.slot_capacity_set(
                    actor=request.user, slot=slot, capacity=_number(request.POST.get("capacity"))
                )
                messages.success(request, _("Places changed."))
            elif action == "schedule":
                form = ScheduleForm(request.POST)
                if not form.is_valid():
                    raise errors.Invalid(_("Check the hours, minutes and places."))
                services.schedule_set(actor=request.user, site=found.site, **form.cleaned_data)
                messages.success(request, _("Schedule saved."))
        except errors.DomainError as exc:
            messages.error(request, str(exc))
        return redirect(f"{request.path}?day={day}")
    slots = list(selectors.slot_list(actor=request.user, site_id=found.site_id, day=day))
    bookings = list(
        selectors.booking_list(actor=request.user, site_id=found.site_id, day=day).exclude(
            status="cancelled"
        )
    )
    pii = can_see_pii(request.user)
    by_slot: dict[int, list] = {}
    for b in bookings:
        by_slot.setdefault(b.slot_id, []).append(
            {
                "name": b.person.name,
                "id_number": b.person.document_number
                if pii
                else mask_id_number(b.person.document_number),
                "phone": b.person.phone if pii else mask_phone(b.person.phone),
                "status": b.get_status_display(),
                "tube": b.tube_barcode,
            }
        )
    if pii and bookings:
        from fangkong.audit.services import audit_pii_view

        audit_pii_view(actor=request.user, obj=found, fields=["id_number", "phone"])
    return render(
        request,
        "voluntary/schedule.html",
        {
            "schedule": found,
            "day": day,
            "days": [day - dt.timedelta(days=1), day + dt.timedelta(days=1)],
            "rows": [(s, by_slot.get(s.pk, [])) for s in slots],
            "form": ScheduleForm(
                initial={
                    "opens": found.opens,
                    "closes": found.closes,
                    "slot_minutes": found.slot_minutes,
                    "capacity": found.capacity,
                    "active": found.active,
                }
            ),
            "can_manage": can_manage,
            "site": found.site if isinstance(found.site, Site) else None,
        },
    )


def _number(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.Invalid(_("Places are a whole number.")) from None
