"""Pages of the places module: the registry of key places, a place's page (status, duties,
scans per hour, cases, inspections), its poster, and the public phone page of a venue code."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fangkong.accounts.roles import Role
from fangkong.common import errors
from fangkong.common.masking import mask_id_number, mask_phone
from fangkong.common.scope import scoped
from fangkong.geo.models import Jurisdiction

from . import policy, roles, scans, selectors, services
from . import poster as posters
from .models import Measure, PlaceKind

VISITOR_COOKIE = "fk_visitor"  # the number this phone entered with, signed: one tap next time
VISIT_COOKIE = "fk_visit_"  # + token: this phone's open visit at the place, for the exit
COOKIE_AGE = 180 * 24 * 3600
SALT = "fangkong.places.visitor"


def _need_view(user) -> None:
    if not roles.can_view_places(user):
        raise PermissionDenied


@login_required
def place_list(request):
    _need_view(request.user)
    qs = selectors.with_open_order(selectors.place_list(actor=request.user))
    kind = request.GET.get("kind", "")
    if kind in PlaceKind.values:
        qs = qs.filter(place_kind=kind)
    status = request.GET.get("status", "")
    if status == Measure.CLOSED:
        qs = qs.filter(closed=True)
    elif status == Measure.RESTRICTED:
        qs = qs.filter(restricted=True)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(name__icontains=q) | qs.filter(code__icontains=q)
    total = qs.count()
    places = list(qs.order_by("code")[:200])
    today = timezone.localdate()
    start, end = selectors.day_bounds(today)
    ids = [p.pk for p in places]
    from .models import DutyCheck, Scan

    scans_today = dict(
        Scan.objects.filter(place_id__in=ids, scanned_at__gte=start, scanned_at__lt=end)
        .values_list("place_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    done_today = dict(
        DutyCheck.objects.filter(place_id__in=ids, day=today, done=True)
        .values_list("place_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = [
        {
            "place": p,
            "scans": scans_today.get(p.pk, 0),
            "duties_done": done_today.get(p.pk, 0),
            "duties": len(policy.duties_of(p.place_kind)),
        }
        for p in places
    ]
    nodes = []
    if roles.can_manage_places(request.user):
        nodes = list(
            scoped(Jurisdiction.objects.all(), request.user, "path")
            .exclude(level__in=["province", "grid"])
            .order_by("path")[:300]
        )
    return render(
        request,
        "places/list.html",
        {
            "rows": rows,
            "total": total,
            "kinds": PlaceKind.choices,
            "kind": kind,
            "status": status,
            "q": q,
            "nodes": nodes,
            "may_manage": roles.can_manage_places(request.user),
        },
    )


@login_required
@require_POST
def place_create(request):
    post = request.POST
    node = (
        scoped(Jurisdiction.objects.all(), request.user, "path")
        .filter(code=post.get("jurisdiction", ""))
        .first()
    )
    if node is None:
        raise errors.NotFound()
    try:
        place = services.place_create(
            actor=request.user,
            name=post.get("name", ""),
            name_en=post.get("name_en", ""),
            place_kind=post.get("place_kind", ""),
            jurisdiction=node,
            address=post.get("address", ""),
            owner=post.get("owner", ""),
            contact_name=post.get("contact_name", ""),
            contact_phone=post.get("contact_phone", ""),
            capacity=post.get("capacity") or 0,
        )
    except services.PlacesError as exc:
        messages.error(request, f"{exc.message} {_fields(exc)}")
        return redirect("places:list")
    messages.success(request, _("Place %(code)s registered.") % {"code": place.code})
    return redirect("places:detail", pk=place.pk)


def _fields(exc) -> str:
    return " ".join(
        str(m) for v in exc.fields.values() for m in (v if isinstance(v, list) else [v])
    )


@login_required
def place_detail(request, pk):
    place = selectors.access_place(request.user, pk)
    order = selectors.open_order(place)
    hours = selectors.scans_per_hour(place)
    peak = max(hours) or 1
    may_cases = request.user.role != Role.PLACE_STAFF
    context = {
        "place": place,
        "order": order,
        "hours": [{"hour": h, "n": n, "pct": round(100 * n / peak)} for h, n in enumerate(hours)],
        "scans_today": sum(hours),
        "inside": selectors.inside_now(place),
        "duties": services.duties_today(place),
        "staff_days": policy.staff_test_days(place.place_kind),
        "cases": selectors.place_cases(actor=request.user, place=place) if may_cases else [],
        "may_cases": may_cases,
        "inspections": selectors.place_inspections(actor=request.user, place=place),
        "may_record": roles.can_record_duties(request.user),
        "may_manage": roles.can_manage_places(request.user),
        "may_inspect": _may_inspect(request.user),
        "may_visitors": roles.can_read_visitors(request.user),
        "staff": list(place.staff.all()) if roles.can_manage_places(request.user) else [],
        "contact_phone": place.contact_phone
        if roles.can_manage_places(request.user) or roles.is_place_staff(request.user)
        else mask_phone(place.contact_phone),
        "orders": list(place.orders.all()[:10]),
        "measures": Measure.choices,
        "scan_url": posters.scan_url(place, request.build_absolute_uri("/")),
    }
    return render(request, "places/detail.html", context)


def _may_inspect(user) -> bool:
    from fangkong.command import roles as command_roles

    return command_roles.can_inspect(user)


@login_required
@require_POST
def duty_record(request, pk):
    place = selectors.access_place(request.user, pk)
    recorded = 0
    try:
        for duty in policy.duties_of(place.place_kind):
            value = request.POST.get(duty)
            if value not in ("done", "missed"):
                continue
            services.duty_check_record(
                actor=request.user,
                place=place,
                duty=duty,
                done=value == "done",
                note=request.POST.get(f"{duty}_note", ""),
            )
            recorded += 1
    except services.PlacesError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(n)s duty checks recorded.") % {"n": recorded})
    return redirect("places:detail", pk=place.pk)


@login_required
@require_POST
def order_issue(request, pk):
    place = selectors.access_place(request.user, pk)
    try:
        services.place_order_issue(
            actor=request.user,
            place=place,
            measure=request.POST.get("measure", ""),
            capacity_percent=request.POST.get("capacity_percent") or 0,
            reason=request.POST.get("reason", ""),
        )
    except services.PlacesError as exc:
        messages.error(request, exc.message)
    return redirect("places:detail", pk=place.pk)


@login_required
@require_POST
def order_lift(request, pk):
    order = selectors.access_order(request.user, pk)
    try:
        services.place_order_lift(actor=request.user, order=order)
    except services.PlacesError as exc:
        messages.error(request, exc.message)
    return redirect("places:detail", pk=order.place_id)


@login_required
@require_POST
def orders_apply(request):
    stats = services.place_orders_apply(actor=request.user)
    messages.success(
        request,
        _("Risk areas and response level applied: %(issued)s orders issued, %(lifted)s lifted.")
        % stats,
    )
    return redirect("places:list")


@login_required
@require_POST
def staff_bind(request, pk):
    place = selectors.access_place(request.user, pk)
    try:
        user = selectors.access_login(request.user, request.POST.get("username", ""))
    except errors.NotFound:
        messages.error(request, _("No such login."))
        return redirect("places:detail", pk=place.pk)
    try:
        services.place_staff_bind(
            actor=request.user, place=place, user=user, bound=request.POST.get("bound") != "0"
        )
    except services.PlacesError as exc:
        messages.error(request, exc.message)
    return redirect("places:detail", pk=place.pk)


@login_required
@require_POST
def inspect(request, pk):
    place = selectors.access_place(request.user, pk)
    link = services.place_inspection_start(
        actor=request.user, place=place, unannounced=request.POST.get("unannounced") == "1"
    )
    return redirect("command:inspection", pk=link.inspection_id)


@login_required
def visitors(request, pk):
    place = selectors.access_place(request.user, pk)
    if not roles.can_read_visitors(request.user):
        raise PermissionDenied
    day = timezone.localdate()
    if request.GET.get("day"):
        try:
            import datetime as dt

            day = dt.date.fromisoformat(request.GET["day"])
        except ValueError:
            day = None
        if day is None or not selectors.EARLIEST <= day <= selectors.LATEST:
            raise errors.Invalid(code="day_invalid")
    rows = selectors.visitors_for(actor=request.user, place=place, day=day)
    return render(request, "places/visitors.html", {"place": place, "rows": rows, "day": day})


@login_required
def poster(request, pk):
    place = selectors.access_place(request.user, pk)
    url = posters.scan_url(place, request.build_absolute_uri("/"))
    return render(
        request,
        "places/poster.html",
        {
            "place": place,
            "url": url,
            "qr": posters.qr_data_uri(url, scale=8),
            "order": selectors.open_order(place),
        },
    )


@login_required
def poster_png(request, pk):
    place = selectors.access_place(request.user, pk)
    url = posters.scan_url(place, request.build_absolute_uri("/"))
    response = HttpResponse(posters.poster_png(place, url), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="venue-code-{place.code}.png"'
    return response


@login_required
def poster_pdf(request, pk):
    place = selectors.access_place(request.user, pk)
    url = posters.scan_url(place, request.build_absolute_uri("/"))
    data, how = posters.poster_pdf(place, url)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="venue-code-{place.code}.pdf"'
    response["X-Poster-Made-By"] = how
    return response


# --- the public phone page -------------------------------------------------------------------


def _remembered(request) -> str:
    try:
        return signing.loads(request.COOKIES.get(VISITOR_COOKIE, ""), salt=SALT)
    except signing.BadSignature:
        return ""


def _masked(number: str) -> str:
    return mask_phone(number) if len(number) == 11 else mask_id_number(number)


def visit(request, token):
    """GET: the place, its status and the entry form (one tap when this phone entered before).
    POST: record the entry, remember the number on this phone, show the pass."""
    remembered = _remembered(request)
    context = {"remembered": remembered, "masked": _masked(remembered)}
    if request.method == "POST":
        number = request.POST.get("number", "").strip() or remembered
        if request.POST.get("use") == "other":
            number = request.POST.get("number", "").strip()
        kind = request.POST.get("kind", "phone")
        if request.POST.get("use") == "remembered" and remembered:
            number = remembered
            kind = "phone" if len(remembered) == 11 else "id"
        try:
            result = scans.scan_record(
                token=token,
                phone=number if kind == "phone" else "",
                id_number=number if kind != "phone" else "",
                ip=scans.client_ip(request),
            )
        except scans.ScanRefused as exc:
            context.update(venue=scans.venue(token), error=exc.message, number=number, kind=kind)
            return render(request, "places/visit.html", context, status=400)
        except errors.Throttled as exc:
            context.update(venue=scans.venue(token), error=exc.message, number=number, kind=kind)
            return render(request, "places/visit.html", context, status=429)
        # The scan read the place in its own statement: no second lookup on the hot path.
        place = result.venue
        stored = result.scan_id
        number = (number or "").strip().upper().replace(" ", "")
        response = render(
            request,
            "places/visit_done.html",
            {"venue": result.venue, "result": result, "masked": _masked(number)},
        )
        secure = request.is_secure()
        response.set_cookie(
            VISITOR_COOKIE,
            signing.dumps(number, salt=SALT),
            max_age=COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=secure,
        )
        response.set_cookie(
            VISIT_COOKIE + place.token,
            signing.dumps(stored, salt=SALT),
            max_age=scans.VISIT_MINUTES * 60,
            httponly=True,
            samesite="Lax",
            secure=secure,
        )
        return response
    context["venue"] = scans.venue(token)
    return render(request, "places/visit.html", context)


@require_POST
def visit_leave(request, token):
    place = scans.venue(token)
    number = _remembered(request)
    try:
        scan_id = signing.loads(request.COOKIES.get(VISIT_COOKIE + place.token, ""), salt=SALT)
    except signing.BadSignature:
        scan_id = None
    left = bool(scan_id and number) and scans.scan_leave(
        token=token, scan_id=int(scan_id), number=number
    )
    response = render(request, "places/visit_left.html", {"venue": place, "left": left})
    response.delete_cookie(VISIT_COOKIE + place.token)
    return response
