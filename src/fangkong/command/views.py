"""Pages of the command centre: the task board, inspections and findings, response level, risk areas,
daily reports and bulletins."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fangkong.common import jobs, paths
from fangkong.common.scope import path_within
from fangkong.common.widgets import date_field, datetime_field
from fangkong.geo.widgets import JurisdictionPicker

from . import roles, selectors, services
from .models import Answer, CheckItem, Priority, ResponseLevel, RiskArea, RiskLevel, Task

PAGE_SIZE = 50


class DispatchForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    deadline = datetime_field(_("Deadline"))
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial="normal")
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, required=False)
    node = forms.CharField(
        label=_("or node (type a name, e.g. a grid)"), required=False, widget=JurisdictionPicker()
    )
    username = forms.CharField(label=_("or user name"), required=False)

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["unit"].queryset = selectors.unit_list(actor=actor)

    def clean(self):
        data = super().clean()
        chosen = [k for k in ("unit", "node", "username") if data.get(k)]
        if len(chosen) != 1:
            raise forms.ValidationError(
                _("choose exactly one assignee: a unit, a node or a person")
            )
        if data.get("node"):
            try:
                data["assignee"] = {"node": selectors.node_within(self.actor, data["node"])}
            except Http404:
                self.add_error("node", _("no such node in your jurisdiction"))
        elif data.get("username"):
            user = (
                get_user_model()
                .objects.select_related("jurisdiction")
                .filter(username=data["username"])
                .first()
            )
            if (
                user is None
                or user.jurisdiction is None
                or not path_within(self.actor, user.jurisdiction.path)
            ):
                self.add_error("username", _("no such user in your jurisdiction"))
            else:
                data["assignee"] = {"user": user}
        else:
            data["assignee"] = {"unit": data["unit"]}
        return data


class FeedbackForm(forms.Form):
    text = forms.CharField(
        label=_("Feedback"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    percent = forms.IntegerField(
        label=_("Progress (%)"), min_value=0, max_value=100, required=False
    )
    attachment = forms.FileField(label=_("Attachment"), required=False)


@login_required
def tasks(request):
    """The board: what my unit must do, what I dispatched, overdue first; the dispatch form."""
    form = None
    if roles.can_dispatch(request.user):
        form = DispatchForm(request.POST or None, actor=request.user)
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                task = services.task_dispatch(
                    actor=request.user,
                    title=data["title"],
                    description=data["description"],
                    deadline=data["deadline"],
                    priority=data["priority"],
                    **data["assignee"],
                )
                messages.success(request, _("Task dispatched."))
                return redirect("command:task", pk=task.pk)
            except services.CommandRefused as exc:
                form.add_error(None, str(exc))
    board = selectors.task_board(actor=request.user)
    return render(
        request,
        "command/tasks.html",
        {
            "assigned": board["assigned"][:PAGE_SIZE],
            "dispatched": board["dispatched"][:PAGE_SIZE],
            "form": form,
        },
    )


@login_required
def task_detail(request, pk: int):
    task = selectors.access_task(request.user, pk)
    return render(
        request,
        "command/task.html",
        {
            "task": task,
            "updates": task.updates.select_related("author"),
            "feedback_form": FeedbackForm(),
            "active": task.state in Task.ACTIVE,
            "can_cancel": roles.can_dispatch(request.user)
            and path_within(request.user, task.dispatcher_path),
        },
    )


@login_required
@require_POST
def task_feedback(request, pk: int):
    task = selectors.access_task(request.user, pk)
    form = FeedbackForm(request.POST, request.FILES)
    error = None
    if form.is_valid():
        try:
            services.task_feedback(
                actor=request.user,
                task=task,
                text=form.cleaned_data["text"],
                percent=form.cleaned_data["percent"],
                attachment=form.cleaned_data["attachment"],
            )
        except services.CommandRefused as exc:
            error = str(exc)
    else:
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.htmx:
        task.refresh_from_db()
        return render(
            request,
            "command/_updates.html",
            {"task": task, "updates": task.updates.select_related("author"), "error": error},
        )
    if error:
        messages.error(request, error)
    return redirect("command:task", pk=pk)


@login_required
@require_POST
def task_state(request, pk: int):
    task = selectors.access_task(request.user, pk)
    try:
        services.task_set_state(
            actor=request.user,
            task=task,
            state=request.POST.get("state", ""),
            text=request.POST.get("text", ""),
        )
    except services.CommandRefused as exc:
        messages.error(request, str(exc))
    return redirect("command:task", pk=pk)


# --- inspections -----------------------------------------------------------------------------


class InspectionForm(forms.Form):
    place = forms.CharField(label=_("Place"), max_length=200)
    node = forms.CharField(label=_("Node"), widget=JurisdictionPicker())
    unannounced = forms.BooleanField(label=_("Unannounced visit"), required=False)


@login_required
def inspections(request):
    form = InspectionForm(request.POST or None) if roles.can_inspect(request.user) else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                node = selectors.node_within(request.user, form.cleaned_data["node"])
                inspection = services.inspection_start(
                    actor=request.user,
                    place=form.cleaned_data["place"],
                    jurisdiction=node,
                    unannounced=form.cleaned_data["unannounced"],
                )
                return redirect("command:checklist", pk=inspection.pk)
            except Http404:
                form.add_error("node", _("no such node in your jurisdiction"))
            except services.CommandRefused as exc:
                form.add_error(None, str(exc))
    page = Paginator(selectors.inspection_list(actor=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "command/inspections.html", {"page": page, "form": form})


@login_required
def inspection_detail(request, pk: int):
    inspection = selectors.access_inspection(request.user, pk)
    return render(
        request,
        "command/inspection.html",
        {
            "inspection": inspection,
            "answers": inspection.answers.select_related("item__gate").order_by(
                "item__gate__order", "item__order"
            ),
            "findings": inspection.findings.select_related("responsible_unit", "responsible_node"),
        },
    )


@login_required
def checklist(request, pk: int):
    """The six gates as one form: each item ok or a finding with its note."""
    inspection = selectors.access_inspection(request.user, pk)
    if inspection.inspector_id != request.user.pk or inspection.state != "draft":
        return redirect("command:inspection", pk=pk)
    items = list(
        CheckItem.objects.filter(gate__template_id=inspection.template_id).select_related("gate")
    )
    error = None
    if request.method == "POST":
        answers = {
            item.pk: (
                request.POST.get(f"result_{item.pk}", ""),
                request.POST.get(f"note_{item.pk}", ""),
            )
            for item in items
            if request.POST.get(f"result_{item.pk}")
        }
        deadline = forms.DateField(required=False).clean(request.POST.get("deadline") or None)
        try:
            services.inspection_submit(
                actor=request.user, inspection=inspection, answers=answers, deadline=deadline
            )
            return redirect("command:inspection", pk=pk)
        except services.CommandRefused as exc:
            error = str(exc)
    return render(
        request,
        "command/checklist.html",
        {"inspection": inspection, "items": items, "error": error, "results": Answer.Result},
    )


class RectifyForm(forms.Form):
    evidence_text = forms.CharField(label=_("What was done"), widget=forms.Textarea)
    evidence_file = forms.FileField(label=_("Evidence file"), required=False)


@login_required
def findings(request):
    page = Paginator(
        selectors.finding_list(actor=request.user, open_only=request.GET.get("all") != "1"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(request, "command/findings.html", {"page": page, "today": timezone.localdate()})


@login_required
def finding_detail(request, pk: int):
    finding = selectors.access_finding(request.user, pk)
    form = RectifyForm()
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "rectify":
                form = RectifyForm(request.POST, request.FILES)
                if form.is_valid():
                    services.finding_rectify(
                        actor=request.user, finding=finding, **form.cleaned_data
                    )
                    return redirect("command:finding", pk=pk)
            elif step == "accept":
                services.finding_accept(actor=request.user, finding=finding)
                return redirect("command:finding", pk=pk)
            elif step == "reject":
                services.finding_reject(
                    actor=request.user, finding=finding, reason=request.POST.get("reason", "")
                )
                return redirect("command:finding", pk=pk)
        except services.CommandRefused as exc:
            messages.error(request, str(exc))
    return render(
        request,
        "command/finding.html",
        {
            "finding": finding,
            "form": form,
            "may_rectify": finding.state == "open" and path_within(request.user, finding.jpath),
            "may_accept": finding.state == "rectified"
            and services.may_accept(request.user, finding),
        },
    )


# --- response level and risk areas -----------------------------------------------------------


class LevelForm(forms.Form):
    level = forms.TypedChoiceField(
        label=_("Response level"), choices=ResponseLevel.Level.choices, coerce=int
    )
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


@login_required
def response_level(request):
    form = LevelForm(request.POST or None) if roles.can_declare(request.user) else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.response_level_declare(actor=request.user, **form.cleaned_data)
                return redirect("command:response-level")
            except services.CommandRefused as exc:
                form.add_error(None, str(exc))
    return render(
        request,
        "command/response_level.html",
        {
            "current": selectors.response_level_current(actor=request.user),
            "history": selectors.response_level_history(actor=request.user)[:100],
            "form": form,
        },
    )


class RiskAreaForm(forms.Form):
    node = forms.CharField(label=_("Node"), widget=JurisdictionPicker())
    level = forms.ChoiceField(label=_("Level"), choices=RiskLevel.choices)
    preset = forms.ChoiceField(label=_("Policy preset"), choices=RiskArea.Preset.choices)
    since = date_field(_("Since"))
    reason = forms.CharField(label=_("Reason"), required=False)


@login_required
def risk_areas(request):
    hq = roles.can_declare(request.user)
    form = RiskAreaForm(request.POST or None) if hq else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if "file" in request.FILES:
            upload = request.FILES["file"]
            jobs.upload_check(upload)
            job = services.risk_areas_import(
                actor=request.user, source=upload, filename=upload.name
            )
            messages.info(
                request,
                _("Imported: %(created)s new, %(updated)s updated, %(rejected)s rejected.")
                % {"created": job.created, "updated": job.updated, "rejected": job.rejected},
            )
            for error in job.errors[:20]:
                messages.error(
                    request, f"line {error['line']}, {error['column']}: {error['reason']}"
                )
            return redirect("command:risk-areas")
        form = RiskAreaForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                node = selectors.node_within(request.user, data.pop("node"))
                services.risk_area_declare(actor=request.user, jurisdiction=node, **data)
                return redirect("command:risk-areas")
            except Http404:
                form.add_error("node", _("no such node in your jurisdiction"))
            except services.CommandRefused as exc:
                form.add_error(None, str(exc))
    areas = selectors.risk_area_list(actor=request.user)
    return render(
        request,
        "command/risk_areas.html",
        {
            "local": areas.filter(external=False)[:200],
            "external": areas.filter(external=True)[:200],
            "proposals": selectors.proposal_list(actor=request.user),
            "form": form,
            "hq": hq,
        },
    )


@login_required
@require_POST
def proposal_decide(request, pk: int):
    proposal = selectors.access_proposal(request.user, pk)
    try:
        services.proposal_decide(
            actor=request.user, proposal=proposal, approve=request.POST.get("decision") == "approve"
        )
    except services.CommandRefused as exc:
        messages.error(request, str(exc))
    return redirect("command:risk-areas")


# --- daily reports ---------------------------------------------------------------------------


def _report_day(request) -> dt.date:
    raw = request.GET.get("day")
    if raw:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    # The report due this morning is yesterday's.
    return timezone.localdate() - dt.timedelta(days=1)


@login_required
def reports(request):
    """The day's reports of every level the user sees, as a tree, with state and deadline."""
    day = _report_day(request)
    if request.method == "POST":
        if not roles.can_declare(request.user) or request.user.jurisdiction is None:
            raise PermissionDenied
        services.daily_reports_assemble(day=day, root=request.user.jurisdiction)
        messages.success(request, _("The day's reports were assembled from the modules."))
        return redirect(f"{request.path}?day={day.isoformat()}")
    rows = list(selectors.daily_report_list(actor=request.user, day=day))
    depth0 = min((paths.depth(r.jpath) for r in rows), default=0)
    for r in rows:
        r.indent = paths.depth(r.jpath) - depth0
    return render(
        request,
        "command/reports.html",
        {
            "day": day,
            "previous": day - dt.timedelta(days=1),
            "next": day + dt.timedelta(days=1),
            "rows": rows,
            "signed": sum(1 for r in rows if r.state == "signed"),
            "late": sum(1 for r in rows if r.late or r.overdue),
            "may_assemble": roles.can_declare(request.user),
        },
    )


@login_required
def report_detail(request, pk: int):
    report = selectors.access_daily_report(request.user, pk)
    own = services._report_staff(request.user, report)
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "fill":
                entries = {key: request.POST.get(key, "") for key, _k, _l in services.ENTRY_FIELDS}
                services.daily_report_fill(actor=request.user, report=report, entries=entries)
                messages.success(request, _("Saved."))
            elif step == "sign":
                services.daily_report_sign(actor=request.user, report=report)
                messages.success(request, _("Report signed."))
            elif step == "return":
                child = selectors.access_daily_report(request.user, int(request.POST["child"]))
                services.daily_report_return(
                    actor=request.user, report=child, reason=request.POST.get("reason", "")
                )
                messages.success(request, _("Report returned for correction."))
        except services.CommandRefused as exc:
            messages.error(request, str(exc))
        return redirect("command:report", pk=pk)
    from . import figures

    labels = figures.labels()
    keys = list(dict.fromkeys([*report.figures, *report.rollup]))
    rows = [
        {
            "key": key,
            "label": labels.get(key, key),
            "value": report.figures.get(key),
            "rollup": report.rollup.get(key),
        }
        for key in keys
        if not key.startswith("entry_")
    ]
    entry_rows = [
        {
            "key": key,
            "kind": kind,
            "label": label,
            "value": report.entries.get(key, ""),
            "rollup": report.rollup.get(f"entry_{key}"),
        }
        for key, kind, label in services.ENTRY_FIELDS
    ]
    children = list(services.report_children(report))
    return render(
        request,
        "command/report.html",
        {
            "report": report,
            "rows": rows,
            "entry_rows": entry_rows,
            "children": children,
            "may_fill": own and report.state == "draft",
            "may_sign": own
            and report.state == "draft"
            and all(c.state == "signed" for c in children),
            "may_return": own and report.state == "draft",
            "overdue": report.state == "draft" and timezone.now() > report.due_at,
        },
    )


# --- bulletins -------------------------------------------------------------------------------


@login_required
def bulletins(request):
    """Today's draft (or the generate button) and the history of published bulletins."""
    editor = roles.can_edit_bulletin(request.user)
    node = request.user.jurisdiction
    if request.method == "POST":
        if not editor or node is None:
            raise PermissionDenied
        try:
            day = dt.date.fromisoformat(request.POST.get("day", ""))
        except ValueError:
            day = timezone.localdate()
        bulletin = services.bulletin_generate(actor=request.user, node=node, day=day)
        return redirect("command:bulletin", pk=bulletin.pk)
    qs = selectors.bulletin_list(actor=request.user)
    page = Paginator(qs.filter(state="published"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "command/bulletins.html",
        {
            "page": page,
            "pending": qs.exclude(state="published")[:20],
            "editor": editor,
            "today": timezone.localdate(),
        },
    )


@login_required
def bulletin_detail(request, pk: int):
    bulletin = selectors.access_bulletin(request.user, pk)
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "edit":
                services.bulletin_edit(
                    actor=request.user,
                    bulletin=bulletin,
                    title_zh=request.POST.get("title_zh", ""),
                    body_zh=request.POST.get("body_zh", ""),
                    title_en=request.POST.get("title_en", ""),
                    body_en=request.POST.get("body_en", ""),
                )
                messages.success(request, _("Draft saved."))
            elif step == "regenerate":
                services.bulletin_generate(
                    actor=request.user, node=bulletin.jurisdiction, day=bulletin.day, force=True
                )
                messages.success(request, _("Draft generated again from the data."))
            elif step == "approve":
                services.bulletin_approve(actor=request.user, bulletin=bulletin)
                messages.success(request, _("Bulletin approved."))
            elif step == "publish":
                html = render(
                    request, "command/bulletin_print.html", {"b": bulletin, "auto_print": False}
                ).content.decode()
                services.bulletin_publish(actor=request.user, bulletin=bulletin, pdf_html=html)
                messages.success(request, _("Bulletin published."))
        except services.CommandRefused as exc:
            messages.error(request, str(exc))
        return redirect("command:bulletin", pk=pk)
    draft = bulletin.state == "draft"
    return render(
        request,
        "command/bulletin.html",
        {
            "b": bulletin,
            "may_edit": draft
            and roles.can_edit_bulletin(request.user)
            and path_within(request.user, bulletin.jpath),
            "may_approve": draft
            and roles.can_approve_bulletin(request.user)
            and path_within(request.user, bulletin.jpath),
            "may_publish": bulletin.state == "approved"
            and roles.can_edit_bulletin(request.user)
            and path_within(request.user, bulletin.jpath),
        },
    )


@login_required
def bulletin_print(request, pk: int):
    """The bulletin as the public sees it, styled for printing (and for "Save as PDF")."""
    bulletin = selectors.access_bulletin(request.user, pk)
    lang = "en" if request.GET.get("lang") == "en" else "zh"
    return render(
        request,
        "command/bulletin_print.html",
        {"b": bulletin, "lang": lang, "auto_print": request.GET.get("print") == "1"},
    )


def _download(field, name: str) -> FileResponse:
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=name or field.name.rsplit("/", 1)[-1])


@login_required
def task_attachment(request, pk: int, update: int):
    """A feedback attachment, for those who see the task (uploads have no public URL)."""
    entry = selectors.access_task_update(request.user, pk, update)
    return _download(entry.attachment, "")


@login_required
def finding_evidence(request, pk: int):
    """A finding's evidence file, for those who see the finding."""
    return _download(selectors.access_finding(request.user, pk).evidence_file, "")


@login_required
def bulletin_pdf(request, pk: int):
    bulletin = selectors.access_bulletin(request.user, pk)
    if bulletin.state != "published":
        raise Http404
    if bulletin.pdf:
        return FileResponse(
            bulletin.pdf.open("rb"),
            content_type="application/pdf",
            filename=f"bulletin-{bulletin.day.isoformat()}.pdf",
        )
    # No PDF could be printed on the server (see pdf.py): the print page opens the dialog.
    return redirect(f"{reverse('command:bulletin-print', args=[pk])}?print=1")
