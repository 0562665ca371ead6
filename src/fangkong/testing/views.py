"""Pages of mass testing: rounds, the phone scanner, the lab bench, worklists and the HQ round view."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from fangkong.common import errors
from fangkong.common.scope import path_within
from fangkong.common.widgets import datetime_field
from fangkong.geo.models import Jurisdiction
from fangkong.geo.widgets import JurisdictionPicker
from fangkong.people.privacy import masked, shown_numbers

from . import roles, selectors, services
from .models import Result, Tube


class RoundForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=120)
    scope = forms.CharField(
        label=_("Jurisdictions"),
        help_text=_("type a name and pick; several separated by commas"),
        widget=JurisdictionPicker(multiple=True),
    )
    pool_size = forms.IntegerField(label=_("Pool size"), min_value=1, max_value=20, initial=10)
    starts_at = datetime_field(_("Starts"), required=False)
    ends_at = datetime_field(_("Ends"), required=False)
    pooling = forms.ChoiceField(
        label=_("Pooling policy"),
        choices=[
            ("", _("The pool size for everyone")),
            (
                "zones",
                _("By risk zone: sealed 1:1, controlled 10:1, precaution 20:1; key groups 1:1"),
            ),
        ],
        required=False,
    )
    exempt_bedridden = forms.BooleanField(
        label=_("Bedridden people are sampled at home"), required=False, initial=True
    )


ZONE_POLICY = {"key_groups": 1, "zones": {"sealed": 1, "controlled": 10, "precaution": 20}}


class ResultForm(forms.Form):
    barcode = forms.CharField(label=_("Tube barcode"), max_length=40)
    result = forms.ChoiceField(label=_("Result"), choices=Result.choices)
    ct_orf1ab = forms.DecimalField(
        label="Ct ORF1ab", max_digits=5, decimal_places=2, required=False
    )
    ct_n = forms.DecimalField(label="Ct N", max_digits=5, decimal_places=2, required=False)


@login_required
def rounds(request):
    form = RoundForm(request.POST or None) if roles.can_manage_rounds(request.user) else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            codes = [c.strip() for c in data["scope"].split(",") if c.strip()]
            nodes = list(Jurisdiction.objects.filter(code__in=codes))
            if len(nodes) != len(codes) or not all(
                path_within(request.user, n.path) for n in nodes
            ):
                form.add_error("scope", _("every code must be a node of your subtree"))
            else:
                try:
                    round_ = services.round_create(
                        actor=request.user,
                        code=data["code"],
                        name=data["name"],
                        scope=nodes,
                        pool_size=data["pool_size"],
                        starts_at=data["starts_at"],
                        ends_at=data["ends_at"],
                        pooling=ZONE_POLICY if data["pooling"] == "zones" else None,
                    )
                    if data["exempt_bedridden"]:
                        services.exemptions_from_tags(actor=request.user, round_=round_)
                    return redirect("testing:round", code=round_.code)
                except services.TestingError as exc:
                    form.add_error(None, str(exc))
    listing = selectors.round_list(actor=request.user).prefetch_related("scope_nodes__jurisdiction")
    return render(request, "testing/rounds.html", {"rounds": listing, "form": form})


@login_required
def round_detail(request, code: str):
    """The HQ view: progress by node, positives, turnaround and overdue tubes."""
    round_ = selectors.access_round(request.user, code)
    node = None
    if request.GET.get("node"):
        node = Jurisdiction.objects.filter(code=request.GET["node"]).first()
        if node is None or not path_within(request.user, node.path):
            raise Http404
    progress = selectors.round_progress(actor=request.user, round_=round_, node=node)
    warning, breach = round_.thresholds
    overdue = selectors.overdue_tubes(actor=request.user, round_=round_)
    return render(
        request,
        "testing/round.html",
        {
            "round": round_,
            "progress": progress,
            "warning": warning,
            "breach": breach,
            "overdue_count": overdue.count(),
            "overdue": overdue[:20],
            "findings": selectors.finding_list(actor=request.user, round_=round_)[:20],
            "controls_count": selectors.control_list(actor=request.user, round_=round_).count(),
            "rechecks_open": selectors.recheck_list(actor=request.user, round_=round_)
            .exclude(status="resulted")
            .count(),
            "turnaround": selectors.turnaround(actor=request.user, round_=round_, by="round"),
            "proposal": services.frequency_propose(node=node or progress["node"])
            if (node or progress["node"]) is not None
            else None,
            "rotation": selectors.rotation_list(actor=request.user, round_=round_),
        },
    )


class PlanForm(forms.Form):
    hours = forms.IntegerField(required=False, min_value=1, max_value=72)
    pool = forms.IntegerField(required=False, min_value=1, max_value=20)
    # Expected prevalence in per cent; empty: each area's last rounds.
    prevalence = forms.DecimalField(
        required=False, min_value=0, max_value=100, max_digits=7, decimal_places=4
    )


@login_required
def plan(request):
    """What a 24-hour round over the user's node needs, against what the registry holds."""
    node = selectors.actor_node(request.user)
    if node is None:
        raise Http404
    asked = PlanForm(request.GET)
    if not asked.is_valid():
        raise errors.Invalid(
            _("Hours from 1 to 72, a pool size from 1 to 20 and a prevalence from 0 to 100 %."),
            fields=asked.errors,
        )
    hours = asked.cleaned_data["hours"] or 24
    pool = asked.cleaned_data["pool"] or 10
    percent = asked.cleaned_data["prevalence"]
    rows = services.plan_round(
        node=node,
        hours=hours,
        pool_size=pool,
        prevalence=None if percent is None else float(percent) / 100,
    )
    return render(
        request,
        "testing/plan.html",
        {
            "node": node,
            "rows": rows,
            "hours": hours,
            "pool": pool,
            "prevalence": "" if percent is None else percent.normalize(),
        },
    )


@login_required
def scanner(request):
    """The sampler's phone page: pick round and site, then scan the tube and each person."""
    if not roles.can_sample(request.user):
        raise PermissionDenied
    rounds_ = selectors.round_list(actor=request.user).exclude(status="closed")
    sites = selectors.site_list(actor=request.user)
    return render(
        request,
        "testing/scanner.html",
        {
            "rounds": rounds_,
            "sites": sites,
            "round_code": request.GET.get("round", ""),
            "site_code": request.GET.get("site", ""),
        },
    )


@login_required
@require_POST
def scan(request):
    """htmx partial: one scan. The same scan twice is harmless; errors come back as a red line."""
    if not roles.can_sample(request.user):
        raise PermissionDenied
    round_ = selectors.access_round(request.user, request.POST.get("round", ""))
    site = selectors.access_site(request.user, request.POST.get("site", ""))
    barcode = request.POST.get("barcode", "").strip()
    context = {"barcode": barcode, "tube": None}
    try:
        if request.POST.get("close"):
            context["tube"] = services.tube_close(
                actor=request.user, tube=selectors.access_tube(request.user, barcode)
            )
            context["message"] = _("Tube closed.")
        else:
            result = services.tube_scan(
                actor=request.user,
                round_=round_,
                barcode=barcode,
                site=site,
                code=request.POST.get("code", ""),
                kind=request.POST.get("kind") or Tube.Kind.POOL,
                confirm=bool(request.POST.get("confirm")),
            )
            context["tube"] = result.tube
            context["message"] = _("Added.") if result.added else _("Already in this tube.")
            context["warnings"] = result.warnings
            if result.person is not None:
                context["person"] = {"name": result.person.name, **masked(result.person)}
    except services.TestingError as exc:
        context["error"] = str(exc)
        context["error_code"] = exc.code
        if exc.code == services.MONITORED_IN_POOL:
            # The same scan again, confirmed: one button on the desk, no retyping.
            context["confirm"] = {
                key: request.POST.get(key, "") for key in ("round", "site", "code", "kind")
            }
    return render(request, "testing/_scan_result.html", context)


@login_required
def lab(request):
    """The lab bench: scan tubes on receipt and record results."""
    if not roles.can_report(request.user):
        raise PermissionDenied
    labs = selectors.lab_list(actor=request.user)
    lab_obj = (
        labs.filter(code=request.POST.get("lab") or request.GET.get("lab") or "").first()
        or labs.first()
    )
    form = (
        ResultForm(request.POST or None) if request.POST.get("action") == "result" else ResultForm()
    )
    if request.method == "POST" and lab_obj is not None and request.POST.get("action") == "box":
        try:
            box = selectors.access_box(request.user, request.POST.get("box", "").strip())
            n = services.box_receive(actor=request.user, box=box, lab=lab_obj)
            messages.success(
                request,
                ngettext("Box %(b)s received: %(n)s tube.", "Box %(b)s received: %(n)s tubes.", n)
                % {"b": box.code, "n": n},
            )
        except Http404:
            messages.error(request, _("No such box."))
        return redirect(f"{request.path}?lab={lab_obj.code}")
    if request.method == "POST" and lab_obj is not None:
        try:
            tube = selectors.access_tube(request.user, request.POST.get("barcode", "").strip())
            if request.POST.get("action") == "receive":
                services.tube_receive(actor=request.user, tube=tube, lab=lab_obj)
                messages.success(request, _("Tube %(t)s received.") % {"t": tube.barcode})
            elif form.is_valid():
                data = form.cleaned_data
                services.result_record(
                    actor=request.user,
                    tube=tube,
                    result=data["result"],
                    lab=lab_obj,
                    ct_orf1ab=data["ct_orf1ab"],
                    ct_n=data["ct_n"],
                )
                messages.success(request, _("Result of %(t)s recorded.") % {"t": tube.barcode})
        except Http404:
            messages.error(request, _("No such tube."))
        except services.TestingError as exc:
            messages.error(request, str(exc))
        return redirect(f"{request.path}?lab={lab_obj.code}")
    recent = selectors.tube_list(actor=request.user).filter(lab=lab_obj)[:30] if lab_obj else []
    return render(
        request, "testing/lab.html", {"labs": labs, "lab": lab_obj, "form": form, "recent": recent}
    )


@login_required
def rechecks(request):
    """The home-visit team's worklist: members of positive pools to sample again, one tube each."""
    status = request.GET.get("status", "pending")
    items = selectors.recheck_list(actor=request.user, status=status or None)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    rows = [(item, masked(item.person)) for item in page]
    return render(request, "testing/rechecks.html", {"page": page, "rows": rows, "status": status})


@login_required
def untested(request, code: str):
    """The grid worker's list of people not yet sampled in the round."""
    round_ = selectors.access_round(request.user, code)
    page = Paginator(selectors.untested_list(actor=request.user, round_=round_), 100).get_page(
        request.GET.get("page")
    )
    people = list(page)
    before = selectors.missed_before(actor=request.user, round_=round_, people=people)
    numbers = shown_numbers(actor=request.user, people=people)
    rows = [(p, n, before[p.pk]) for p, n in zip(people, numbers, strict=True)]
    # People due a test for a reason of their own (a symptom at the door), whatever the round.
    orders = list(selectors.test_orders_due(actor=request.user)[:100])
    return render(
        request,
        "testing/untested.html",
        {"round": round_, "page": page, "rows": rows, "orders": orders, "now": timezone.now()},
    )


@login_required
def positives(request, code: str):
    round_ = selectors.access_round(request.user, code)
    return render(
        request,
        "testing/positives.html",
        {
            "round": round_,
            "findings": [
                (f, masked(f.person))
                for f in selectors.finding_list(actor=request.user, round_=round_)[:500]
            ],
            "controls": [
                (c, masked(c.person))
                for c in selectors.control_list(actor=request.user, round_=round_)[:2000]
            ],
        },
    )


@login_required
def turnaround(request, code: str):
    """Turnaround per site and lab, and every overdue tube with its level."""
    round_ = selectors.access_round(request.user, code)
    warning, breach = round_.thresholds
    overdue = Paginator(selectors.overdue_tubes(actor=request.user, round_=round_), 100).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    return render(
        request,
        "testing/turnaround.html",
        {
            "round": round_,
            "warning": warning,
            "breach": breach,
            "by_site": selectors.turnaround(actor=request.user, round_=round_, by="site"),
            "by_lab": selectors.turnaround(actor=request.user, round_=round_, by="lab"),
            "throughput": _throughput_table(
                selectors.site_throughput(actor=request.user, round_=round_)
            ),
            "overdue": [
                (t, round((now - t.sampled_at).total_seconds() / 3600, 1)) for t in overdue
            ],
            "page": overdue,
        },
    )


def _throughput_table(rows: list[dict], sites: int = 30) -> dict:
    """Sites down, hours across (local time), swabs in each cell; the busiest sites first."""
    hours = sorted({timezone.localtime(r["hour"]) for r in rows})
    cells: dict[str, dict] = {}
    names = {}
    for r in rows:
        cells.setdefault(r["site"], {})[timezone.localtime(r["hour"])] = r["swabs"]
        names[r["site"]] = r["name"]
    ranked = sorted(cells, key=lambda code: (-sum(cells[code].values()), code))[:sites]
    return {
        "hours": hours,
        "rows": [
            {
                "site": code,
                "name": names[code],
                "cells": [cells[code].get(h, 0) for h in hours],
                "peak": max(cells[code].values()),
            }
            for code in ranked
        ],
        "more": max(0, len(cells) - sites),
    }
