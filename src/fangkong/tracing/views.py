"""Pages of tracing: the case list and page, the investigation form, the grid worker's lead
worklist, the chain and cluster pages with their network picture, and the co-location page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections import Counter
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from fangkong.accounts.roles import can_see_pii
from fangkong.common import errors
from fangkong.common.keyset import keyset_page, page_links
from fangkong.common.scope import actor_path
from fangkong.people.privacy import (
    audit_contact_named_outside,
    birth_fields,
    masked,
    person_for_contact,
)
from fangkong.people.selectors import age

from . import charts, colocation, roles, selectors, services
from .models import (
    Classification,
    ColocationRun,
    ContactKind,
    FoundBy,
    LeadState,
    Origin,
    Setting,
    Severity,
)

DT = {"type": "datetime-local"}


def _dt_field(label, required=False):
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=forms.DateTimeInput(attrs=DT, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


def _date_field(label):
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class TimesForm(forms.Form):
    onset_date = _date_field(gettext_lazy("onset date"))
    sampling_date = _date_field(gettext_lazy("sampling date"))
    onset_at = _dt_field(gettext_lazy("onset"))
    first_visit_at = _dt_field(gettext_lazy("first medical visit"))
    diagnosed_at = _dt_field(gettext_lazy("diagnosed"))
    isolated_at = _dt_field(gettext_lazy("isolated"))
    admitted_at = _dt_field(gettext_lazy("admitted"))


class ClassForm(forms.Form):
    classification = forms.ChoiceField(
        label=gettext_lazy("classification"), choices=Classification.choices
    )
    note = forms.CharField(label=gettext_lazy("note"), required=False, max_length=255)


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(label=gettext_lazy("severity"), choices=Severity.choices)


class WindowForm(forms.Form):
    window_start = _dt_field(gettext_lazy("infectious window from"))
    window_end = _dt_field(gettext_lazy("infectious window to"))
    derive = forms.BooleanField(label=gettext_lazy("derive from the policy"), required=False)


class ActivityForm(forms.Form):
    setting = forms.ChoiceField(label=gettext_lazy("setting"), choices=Setting.choices)
    place = forms.CharField(label=gettext_lazy("place"), max_length=200)
    address = forms.CharField(label=gettext_lazy("address"), max_length=255, required=False)
    start = _dt_field(gettext_lazy("from"), required=True)
    end = _dt_field(gettext_lazy("to"))
    companions = forms.CharField(label=gettext_lazy("companions"), required=False)
    public = forms.BooleanField(label=gettext_lazy("public place"), required=False)


class ExposureForm(forms.Form):
    setting = forms.ChoiceField(label=gettext_lazy("setting"), choices=Setting.choices)
    place = forms.CharField(label=gettext_lazy("place"), max_length=200, required=False)
    start = _dt_field(gettext_lazy("from"))
    source_case = forms.CharField(label=gettext_lazy("source case number"), required=False)
    notes = forms.CharField(label=gettext_lazy("notes"), required=False, max_length=255)


class TravelForm(forms.Form):
    origin = forms.CharField(label=gettext_lazy("from"), max_length=100)
    destination = forms.CharField(label=gettext_lazy("to"), max_length=100)
    departed_at = _dt_field(gettext_lazy("departed"), required=True)
    arrived_at = _dt_field(gettext_lazy("arrived"))
    mode = forms.CharField(label=gettext_lazy("means of transport"), required=False, max_length=40)
    reference = forms.CharField(label=gettext_lazy("train/flight"), required=False, max_length=40)


class ContactForm(forms.Form):
    id_number = forms.CharField(label=gettext_lazy("ID number of the contact"), max_length=32)
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=ContactKind.choices)
    source_contact = forms.IntegerField(
        label=gettext_lazy("exposed to contact no. (secondary)"), required=False
    )
    setting = forms.ChoiceField(label=gettext_lazy("setting"), choices=Setting.choices)
    last_exposure_at = _dt_field(gettext_lazy("last exposure"), required=True)


class ClusterEventForm(forms.Form):
    """Name the cases of a chain as one cluster event (the fields of ClusterEvent)."""

    code = forms.CharField(label=gettext_lazy("code"), max_length=32)
    name = forms.CharField(label=gettext_lazy("name"), max_length=120)
    setting = forms.ChoiceField(label=gettext_lazy("setting"), choices=Setting.choices)
    place = forms.CharField(label=gettext_lazy("place"), max_length=200, required=False)
    notes = forms.CharField(
        label=gettext_lazy("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ColocationForm(forms.Form):
    rule = forms.ChoiceField(
        label=gettext_lazy("rule"),
        choices=[(o.value, o.label) for o in (Origin.CELL, Origin.VENUE, Origin.TRANSPORT)],
    )
    upload = forms.FileField(label=gettext_lazy("data file (Parquet or CSV)"), required=False)
    cases = forms.CharField(
        label=gettext_lazy("case numbers (empty: every case of the last 14 days)"), required=False
    )
    minutes = forms.IntegerField(
        label=gettext_lazy("minimum minutes together / maximum gap"), required=False, min_value=1
    )


def _filters(request) -> dict:
    keys = ("classification", "severity", "found_by", "since", "until", "cluster", "q")
    return {k: request.GET.get(k) for k in keys if request.GET.get(k)}


@login_required
def cases(request):
    """The list, one keyset page; its figures (over every case of the subtree) come after it
    from `case_figures`, by htmx, so the list never waits for them."""
    filters = _filters(request)
    listing = selectors.case_list(actor=request.user, filters=filters).order_by(
        "-reported_at", "-id"
    )
    page = keyset_page(listing, request.GET.get("cursor"))
    links = page_links(request, page)
    return render(
        request,
        "tracing/cases.html",
        {
            "page": page,
            "links": links,
            "filters": filters,
            "query": links["query"],
            "figures_query": _figures_query(filters),
            "classifications": Classification.choices,
            "severities": Severity.choices,
            "found_by": FoundBy.choices,
        },
    )


def _figures_query(filters: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(filters)


@login_required
def case_figures(request):
    """The cases page's figures, intervals, leads and curve for the same filters: kept for
    `selectors.FIGURES_SECONDS` per subtree, with the moment they were computed."""
    filters = _filters(request)
    bundle = selectors.case_figures(
        actor=request.user, filters=filters, refresh=request.GET.get("refresh") == "1"
    )
    return render(
        request,
        "tracing/_case_figures.html",
        {
            **bundle,
            "curve": charts.curve_html(bundle["by_day"]),
            "figures_query": _figures_query(filters),
        },
    )


def _case_context(request, case):
    contacts = list(selectors.case_contacts(actor=request.user, case=case)[:500])
    return {
        "case": case,
        "pii": masked(case.person),
        "birth": birth_fields(request.user, case.person, age(case.person)),
        "activities": case.activities.all(),
        "exposures": selectors.exposure_list(case=case),
        "travels": case.travels.all(),
        "contacts": [(c, masked(c.person)) for c in contacts],
        "intervals": selectors.case_intervals(case),
        "history": case.events.select_related("actor"),
        "as_contact": getattr(case, "as_contact", None),
        "may_investigate": roles.can_investigate(request.user),
    }


@login_required
def case_detail(request, pk: int):
    case = selectors.access_case(request.user, pk)
    return render(
        request, "tracing/case.html", {**_case_context(request, case), **_case_chain(request, case)}
    )


def _case_chain(request, case) -> dict:
    """The case's own transmission chain (the component it belongs to), drawn as on the chains
    page, with a link to the chain's page; nothing when the case is linked to no other case."""
    graph = selectors.transmission_graph(actor=request.user)
    mine = next((c for c in graph["cases"] if c["id"] == case.pk), None)
    if mine is None:
        return {}
    root = mine["component"]
    found = next((c for c in graph["components"] if c["id"] == root), None)
    members = [c for c in graph["cases"] if c["component"] == root]
    ids = {c["id"] for c in members}
    edges = [e for e in graph["edges"] if e[0] in ids]
    if found is None or not edges:
        return {}
    sub = {**graph, "cases": members, "edges": edges, "components": [found]}
    return {"chain": found, "chain_network": charts.network_html(sub)}


def _case_by_code(request, code: str):
    found = selectors.case_list(actor=request.user).filter(code=code.strip()).first()
    if found is None:
        raise services.TracingError(_("No case numbered %s in your jurisdiction.") % code)
    return found


@login_required
def investigate(request, pk: int):
    """The epidemiologist's form: the five-earlies times, class, severity, window, timeline,
    exposures, travel and contacts of one case; each part posts on its own."""
    case = selectors.access_case(request.user, pk)
    if not roles.can_investigate(request.user):
        raise PermissionDenied
    part = request.POST.get("part", "")
    bound = {part: request.POST} if request.method == "POST" else {}
    local = {
        f: timezone.localtime(getattr(case, f)) if getattr(case, f) else None
        for f in (
            "onset_at",
            "first_visit_at",
            "diagnosed_at",
            "isolated_at",
            "admitted_at",
            "window_start",
            "window_end",
        )
    }
    forms_ = {
        "times": TimesForm(
            bound.get("times"),
            initial={**local, "onset_date": case.onset_date, "sampling_date": case.sampling_date},
            prefix="t",
        ),
        "class": ClassForm(
            bound.get("class"), initial={"classification": case.classification}, prefix="c"
        ),
        "severity": SeverityForm(
            bound.get("severity"), initial={"severity": case.severity}, prefix="s"
        ),
        "window": WindowForm(bound.get("window"), initial=local, prefix="w"),
        "activity": ActivityForm(bound.get("activity"), prefix="a"),
        "exposure": ExposureForm(bound.get("exposure"), prefix="e"),
        "travel": TravelForm(bound.get("travel"), prefix="r"),
        "contact": ContactForm(bound.get("contact"), prefix="k"),
    }
    if request.method == "POST":
        form = forms_.get(part)
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                said = _apply(request, case, part, form.cleaned_data)
                messages.success(request, said or _("Saved."))
                return redirect("tracing:investigate", pk=case.pk)
            except services.TracingError as exc:
                form.add_error(None, str(exc))
    context = _case_context(request, case)
    context["forms"] = forms_
    return render(request, "tracing/investigate.html", context)


def _apply(request, case, part, data) -> str | None:
    actor = request.user
    if part == "times":
        services.case_times_set(actor=actor, case=case, **data)
    elif part == "class":
        if data["classification"] != case.classification:
            services.case_reclassify(
                actor=actor, case=case, classification=data["classification"], note=data["note"]
            )
    elif part == "severity":
        services.case_severity_set(actor=actor, case=case, severity=data["severity"])
    elif part == "window":
        start = None if data["derive"] else data["window_start"]
        if start is None and not data["derive"]:
            raise services.TracingError(_("Give the start of the window, or derive it."))
        services.case_window_set(actor=actor, case=case, start=start, end=data["window_end"])
    elif part == "activity":
        services.activity_add(actor=actor, case=case, **data)
    elif part == "exposure":
        source = (
            _case_by_code(request, data.pop("source_case")) if data.get("source_case") else None
        )
        data.pop("source_case", None)
        services.exposure_add(actor=actor, case=case, source_case=source, **data)
    elif part == "travel":
        services.travel_add(actor=actor, case=case, **data)
    elif part == "contact":
        # As the API's contact creation: a number outside the actor's subtree, held or not,
        # gets one neutral answer (people.privacy.person_for_contact).
        number = data["id_number"].strip().upper()
        person, readable = person_for_contact(actor=actor, document_number=number)
        source_contact = None
        if data["source_contact"]:
            source_contact = selectors.access_contact(actor, data["source_contact"])
        if not readable:
            contact = None
            if person is not None:
                try:
                    contact = _contact_add(actor, case, person, data, source_contact)
                except services.TracingError:
                    pass  # a refusal would say that the number is held
            audit_contact_named_outside(
                actor=actor, person_id=None, person=person, contact=contact, document_number=number
            )
            return _("Passed on to the grid of the person with this number, if registered.")
        _contact_add(actor, case, person, data, source_contact)
    return None


def _contact_add(actor, case, person, data, source_contact):
    return services.contact_add(
        actor=actor,
        person=person,
        kind=data["kind"] if source_contact is None else ContactKind.SECONDARY,
        setting=data["setting"],
        last_exposure_at=data["last_exposure_at"],
        source_case=None if source_contact else case,
        source_contact=source_contact,
    )


@login_required
def worklist(request):
    """The grid worker's phone list: leads pushed to the grid, verify or exclude each; the
    verified ones go under control."""
    if request.method == "POST":
        if not roles.can_work_leads(request.user):
            raise PermissionDenied
        contact = selectors.access_contact(request.user, request.POST.get("contact"))
        what = request.POST.get("do")
        note = request.POST.get("note", "")
        calls = {
            "verify": lambda: services.lead_verify(actor=request.user, contact=contact, note=note),
            "unreachable": lambda: services.lead_verify(
                actor=request.user, contact=contact, reachable=False, note=note
            ),
            "exclude": lambda: services.lead_exclude(
                actor=request.user, contact=contact, reason=request.POST.get("reason", "")
            ),
            "control": lambda: services.lead_control(actor=request.user, contact=contact),
        }
        if what not in calls:
            raise Http404
        try:
            done = calls[what]()
            messages.success(
                request,
                _("%(name)s: %(state)s")
                % {"name": contact.person.name, "state": LeadState(done.state).label},
            )
        except services.TracingError as exc:
            messages.error(request, str(exc))
        return redirect(f"{reverse('tracing:worklist')}?state={request.GET.get('state', '')}")
    state = request.GET.get("state", "")
    if state and state not in LeadState.values:
        raise Http404
    leads = selectors.worklist(actor=request.user, state=state)
    pushed_on = _pushed_day(request.GET.get("pushed", ""))
    if pushed_on is not None:
        start = timezone.make_aware(dt.datetime.combine(pushed_on, dt.time.min))
        leads = leads.filter(pushed_at__gte=start, pushed_at__lt=start + dt.timedelta(days=1))
    page = keyset_page(leads, request.GET.get("cursor"), size=30)
    return render(
        request,
        "tracing/worklist.html",
        {
            "page": page,
            "links": page_links(request, page),
            "pushed": pushed_on,
            "today": timezone.localdate(),
            "rows": [(c, masked(c.person)) for c in page],
            "state": state,
            "counts": selectors.lead_counts(actor=request.user),
            "states": LeadState.choices,
            "may_work": roles.can_work_leads(request.user),
        },
    )


def _pushed_day(value: str) -> dt.date | None:
    """The worklist's pushed-on filter: "today" or a date (Asia/Shanghai days)."""
    if not value:
        return None
    if value == "today":
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise errors.Invalid(_("Not a date: %s") % value[:20]) from None


@login_required
def leads_csv(request):
    """The worklist as CSV: every lead of the actor's subtree under the page's state filter;
    ID numbers and phones in full only for a role that may see them, the export audited."""
    state = request.GET.get("state", "")
    if state and state not in LeadState.values:
        raise Http404
    buffer = io.StringIO()
    services.leads_export(
        actor=request.user, out=buffer, state=state, unmasked=can_see_pii(request.user)
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{state or "to-do"}.csv"'
    return response


@login_required
def chains(request):
    graph = selectors.transmission_graph(actor=request.user, filters=_filters(request))
    return render(
        request,
        "tracing/chains.html",
        {
            "graph": graph,
            "figures": selectors.key_figures(actor=request.user),
            "events": selectors.cluster_event_list(actor=request.user).order_by("code"),
            "network": charts.network_html(graph),
            "components": graph["components"],
        },
    )


@login_required
def component(request, root: int):
    """One chain or cluster: the connected component of the case `root` (its first case). An
    epidemiologist names its cases as a cluster event here."""
    graph = selectors.transmission_graph(actor=request.user)
    found = next((c for c in graph["components"] if c["id"] == root), None)
    if found is None:
        raise Http404
    members = [c for c in graph["cases"] if c["component"] == root]
    ids = {c["id"] for c in members}
    may_name = roles.can_investigate(request.user)
    form = ClusterEventForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not may_name:
            raise PermissionDenied
        if form.is_valid():
            # The graph is already the actor's scope; the cases are fetched through it again.
            cases = list(selectors.case_list(actor=request.user).filter(pk__in=ids))
            try:
                event = services.cluster_event_create(
                    actor=request.user,
                    jpath=actor_path(request.user),
                    cases=cases,
                    **form.cleaned_data,
                )
            except services.TracingError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    ngettext(
                        "Cluster event %(code)s named with %(n)d case.",
                        "Cluster event %(code)s named with %(n)d cases.",
                        len(cases),
                    )
                    % {"code": event.code, "n": len(cases)},
                )
                return redirect("tracing:cluster", pk=event.pk)
    sub = {
        **graph,
        "cases": members,
        "edges": [e for e in graph["edges"] if e[0] in ids],
        "components": [found],
    }
    return render(
        request,
        "tracing/cluster.html",
        {
            "component": found,
            "members": members,
            "network": charts.network_html(sub),
            "event": None,
            "form": form if may_name else None,
            # Naming moves these cases out of the events they already belong to: say so first.
            "moving": sorted(
                Counter(
                    c["cluster_event__code"] for c in members if c["cluster_event__code"]
                ).items()
            ),
        },
    )


@login_required
def cluster_event(request, pk: int):
    event = selectors.access_cluster_event(request.user, pk)
    # Again through the list, for the count of its cases in the actor's scope.
    event = selectors.cluster_event_list(actor=request.user).get(pk=event.pk)
    graph = selectors.transmission_graph(actor=request.user, filters={"cluster": event.code})
    members = graph["cases"]
    return render(
        request,
        "tracing/cluster.html",
        {
            "event": event,
            "component": graph["components"][0] if graph["components"] else None,
            "members": members,
            "network": charts.network_html(graph),
        },
    )


@login_required
def chains_csv(request):
    """The graph as CSV: one row per case with its chain, generation and sources."""
    graph = selectors.transmission_graph(actor=request.user)
    code = {c["id"]: c["code"] for c in graph["cases"]}
    sources: dict[int, list[str]] = {}
    for a, b, setting in graph["edges"]:
        sources.setdefault(b, []).append(f"{code[a]}({setting})")
    size = {c["id"]: c["cases"] for c in graph["components"]}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "case",
            "classification",
            "report_date",
            "onset_date",
            "chain",
            "chain_cases",
            "is_cluster",
            "generation",
            "sources",
            "cluster_event",
            "under_control_when_found",
        ]
    )
    for c in graph["cases"]:
        n = size.get(c["component"], 1)
        writer.writerow(
            [
                c["code"],
                c["classification"],
                c["report_date"],
                c["onset_date"] or "",
                code[c["component"]],
                n,
                int(n >= graph["min_cases"]),
                c["generation"],
                ";".join(sources.get(c["id"], [])),
                c["cluster_event__code"] or "",
                int(c["under_control_when_found"]),
            ]
        )
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="transmission-chains.csv"'
    return response


@login_required
def colocation_page(request):
    may_run = roles.can_run_colocation(request.user)
    form = ColocationForm(request.POST or None, request.FILES or None)
    sources = colocation.configured_sources()
    if request.method == "POST":
        if not may_run:
            raise PermissionDenied
        if form.is_valid():
            run = _start_run(request, form, sources)
            if run is not None:
                return redirect("tracing:colocation_run", pk=run.pk)
    return render(
        request,
        "tracing/colocation.html",
        {
            "form": form,
            "may_run": may_run,
            "sources": sources,
            # Where the operator put the telecom files is the server's business, not a district's.
            "show_paths": request.user.is_superuser or request.user.role == "admin",
            "runs": selectors.colocation_run_list(actor=request.user)[:20],
        },
    )


def _start_run(request, form, sources):
    data = form.cleaned_data
    rule = data["rule"]
    upload = data.get("upload")
    if upload is not None:
        suffix = Path(upload.name).suffix.lower()
        if suffix not in (".parquet", ".csv"):
            form.add_error("upload", _("Upload a .parquet or .csv file."))
            return None
        target = (
            Path(settings.MEDIA_ROOT) / "colocation" / "uploads" / f"{uuid.uuid4().hex}{suffix}"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        path = str(target)
    elif rule in sources:
        path = sources[rule]
    else:
        form.add_error("upload", _("No data is configured for this rule; upload a file."))
        return None
    case_ids = []
    codes = [
        c.strip() for c in (data.get("cases") or "").replace("，", ",").split(",") if c.strip()
    ]
    if codes:
        found = dict(
            selectors.case_list(actor=request.user).filter(code__in=codes).values_list("code", "id")
        )
        missing = sorted(set(codes) - set(found))
        if missing:
            form.add_error("cases", _("Unknown case numbers: %s") % ", ".join(missing))
            return None
        case_ids = sorted(found.values())
    params = {}
    if data.get("minutes"):
        params = {
            "cell": {"min_overlap_minutes": data["minutes"]},
            "venue": {"max_gap_minutes": data["minutes"]},
        }.get(rule, {})
    return colocation.colocation_run_start(
        actor=request.user,
        rule=rule,
        data=path,
        jpath=actor_path(request.user) or "/",
        case_ids=case_ids,
        params=params,
    )


@login_required
def colocation_run(request, pk: int):
    run = selectors.access_colocation_run(request.user, pk)
    template = "tracing/_run.html" if request.htmx else "tracing/colocation_run.html"
    return render(
        request,
        template,
        {
            "run": run,
            "finished": run.status in (ColocationRun.Status.DONE, ColocationRun.Status.FAILED),
        },
    )


@login_required
def colocation_result(request, pk: int):
    run = selectors.access_colocation_run(request.user, pk)
    path = colocation.result_path(run)
    if not path.exists():
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"colocation-{run.pk}.csv")
