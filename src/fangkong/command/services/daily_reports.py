"""Writes of the command centre: the daily reports (三级登记报告), filled, signed and rolled up."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import errors
from fangkong.common.models import Alert

from .. import roles
from ..models import DailyReport
from ._common import CommandRefused, _bulk_alerts, _require

# The reporting levels, top first, and when each level's report of day D is due: so many hours
# after D ends (streets report first, so the district can sum them, then the city); both are
# settings (FANGKONG_REPORT_LEVELS, FANGKONG_REPORT_DUE_HOURS).

# What the unit fills in by hand: (key, kind, label). Numbers are summed up the levels.
ENTRY_FIELDS = [
    ("staff_on_duty", "int", _lazy("Staff on duty")),
    ("volunteers", "int", _lazy("Volunteers")),
    ("households_supplied", "int", _lazy("Households supplied with necessities")),
    ("key_work", "text", _lazy("Work done today")),
    ("problems", "text", _lazy("Problems and requests")),
]


def report_levels() -> list[str]:
    return list(settings.FANGKONG_REPORT_LEVELS)


def report_due_at(level: str, day: dt.date) -> dt.datetime:
    hours = settings.FANGKONG_REPORT_DUE_HOURS
    end = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    return end + dt.timedelta(hours=hours.get(level, 10))


def _child_level(level: str) -> str | None:
    levels = report_levels()
    i = levels.index(level)
    return levels[i + 1] if i + 1 < len(levels) else None


def report_children(report: DailyReport):
    """The reports of the same day one reporting level down inside the report's subtree."""
    below = _child_level(report.level)
    if below is None:
        return DailyReport.objects.none()
    return DailyReport.objects.filter(
        day=report.day, level=below, jpath__startswith=report.jpath
    ).select_related("jurisdiction", "signed_by")


def daily_reports_assemble(*, day: dt.date, root=None) -> int:
    """Create (or refresh, while unsigned) the day's report of every node at a reporting level,
    each with its figures from the modules. Signed reports are frozen and left alone.

    One run of the providers per node (a few aggregate queries each), so a city of 10 districts
    and 120 streets costs ~130 provider runs: a daily job, never a page request."""
    from fangkong.geo.models import Jurisdiction

    from .. import figures

    levels = report_levels()
    nodes = Jurisdiction.objects.filter(level__in=levels)
    if root is not None:
        nodes = nodes.filter(path__startswith=root.path)
    existing = {r.jurisdiction_id: r for r in DailyReport.objects.filter(day=day)}
    now = timezone.now()
    created, updated = [], []
    for node in nodes.order_by("path"):
        report = existing.get(node.pk)
        if report is not None and report.state == DailyReport.State.SIGNED:
            continue
        values = figures.collect(node.path, day)
        if report is None:
            created.append(
                DailyReport(
                    jurisdiction=node,
                    jpath=node.path,
                    level=node.level,
                    day=day,
                    figures=values,
                    due_at=report_due_at(node.level, day),
                    assembled_at=now,
                )
            )
        else:
            report.figures, report.assembled_at = values, now
            updated.append(report)
    with transaction.atomic():
        DailyReport.objects.bulk_create(created)
        DailyReport.objects.bulk_update(updated, ["figures", "assembled_at"])
        # One entry per run: the figures are the modules' own, assembled by the system.
        audit_record(
            actor=None,
            action=Action.CREATE if created else Action.UPDATE,
            object_type="command.dailyreport",
            object_repr=f"daily reports {day.isoformat()}",
            jurisdiction_path=root.path if root is not None else "/",
            changes={"created": [None, len(created)], "refreshed": [None, len(updated)]},
        )
    return len(created) + len(updated)


def _report_staff(actor, report: DailyReport) -> bool:
    """The node's own HQ staff sign and fill in its report (a district does not sign a street's)."""
    return (
        roles.can_declare(actor)
        and getattr(actor, "jurisdiction_id", None) == report.jurisdiction_id
    )


def _clean_entries(entries: dict) -> dict:
    out = {}
    for key, kind, _label in ENTRY_FIELDS:
        value = entries.get(key)
        if value in (None, ""):
            continue
        if kind == "int":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise CommandRefused(
                    _("%(field)s must be a whole number") % {"field": key},
                    code="not_a_whole_number",
                ) from None
            if number < 0:
                raise CommandRefused(_("%(field)s cannot be negative") % {"field": key})
            out[key] = number
        else:
            out[key] = str(value)[:4000]
    return out


def daily_report_fill(*, actor, report: DailyReport, entries: dict) -> DailyReport:
    """The unit's own fields; actor None is the operator entering a report that came in on paper."""
    _require(actor is None or _report_staff(actor, report))
    if report.state != DailyReport.State.DRAFT:
        raise CommandRefused(_("the report is signed; ask the level above to return it"))
    cleaned = _clean_entries(entries)
    with transaction.atomic():
        before = dict(report.entries)
        report.entries = cleaned
        report.save(update_fields=["entries"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=report,
            jurisdiction_path=report.jpath,
            changes={"entries": [before, cleaned]},
        )
    return report


def daily_report_sign(
    *, actor, report: DailyReport, now: dt.datetime | None = None, signer: str = ""
) -> DailyReport:
    """Sign the node's report: every report one level down must be signed first. The figures are
    assembled afresh and frozen with the roll-up of the reports below; a signature after the
    deadline marks the report late. Actor None is the operator recording a signature given on
    paper or by phone, under the name `signer`."""
    from .. import figures

    _require(actor is None or _report_staff(actor, report))
    if actor is None and not signer.strip():
        raise CommandRefused(_("say who signed the report"), code="signer_required")
    now = now or timezone.now()
    with transaction.atomic():
        report = DailyReport.objects.select_for_update().get(pk=report.pk)
        if report.state != DailyReport.State.DRAFT:
            raise CommandRefused(_("the report is already signed"), code="already_signed")
        children = list(report_children(report))
        unsigned = [c for c in children if c.state != DailyReport.State.SIGNED]
        if unsigned:
            raise CommandRefused(
                _("%(n)s report(s) below are not signed yet: %(names)s")
                % {
                    "n": len(unsigned),
                    "names": "、".join(c.jurisdiction.name for c in unsigned[:5]),
                },
                code="reports_unsigned",
            )
        report.figures = figures.collect(report.jpath, report.day)
        report.rollup = (
            figures.roll_up([{**c.figures, **_entry_numbers(c)} for c in children])
            if children
            else {}
        )
        report.state = DailyReport.State.SIGNED
        report.signed_at, report.signed_by = now, actor
        report.signer = (str(actor) if actor is not None else signer.strip())[:60]
        report.late = now > report.due_at
        report.assembled_at = now
        report.save()
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=report,
            jurisdiction_path=report.jpath,
            changes={"state": ["draft", "signed"], "late": [None, report.late]},
        )
    return report


def _entry_numbers(report: DailyReport) -> dict:
    """The unit's own numbers, plus what its own children reported (so the city's roll-up sums
    the streets through the districts, not only the districts' own entries)."""
    own = {f"entry_{k}": v for k, v in report.entries.items() if isinstance(v, int)}
    below = {k: v for k, v in (report.rollup or {}).items() if k.startswith("entry_")}
    return {k: own.get(k, 0) + below.get(k, 0) for k in own.keys() | below.keys()}


def daily_report_return(*, actor, report: DailyReport, reason: str) -> DailyReport:
    """The level above sends a signed report back for correction while its own is unsigned."""
    _require(roles.can_declare(actor))
    if not reason.strip():
        raise CommandRefused(_("say why the report goes back"))
    parent = DailyReport.objects.filter(
        day=report.day,
        jurisdiction_id=getattr(actor, "jurisdiction_id", None),
    ).first()
    if parent is None or report not in list(report_children(parent)):
        raise errors.Forbidden
    if parent.state == DailyReport.State.SIGNED:
        raise CommandRefused(_("your own report is signed already"))
    if report.state != DailyReport.State.SIGNED:
        raise CommandRefused(_("the report is not signed"))
    with transaction.atomic():
        report.state = DailyReport.State.DRAFT
        report.signed_at = report.signed_by = None
        report.signer = ""
        report.late = False
        report.save(update_fields=["state", "signed_at", "signed_by", "signer", "late"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=report,
            jurisdiction_path=report.jpath,
            changes={"state": ["signed", "draft"], "reason": [None, reason]},
        )
    return report


def daily_reports_flag_late(*, now: dt.datetime | None = None) -> int:
    """Raise one alert per unsigned report past its deadline (de-duplicated by report)."""
    now = now or timezone.now()
    late = list(
        DailyReport.objects.filter(state=DailyReport.State.DRAFT, due_at__lt=now).select_related(
            "jurisdiction"
        )
    )
    _bulk_alerts(
        [
            Alert(
                kind="command.report_late",
                level=Alert.Level.WARNING,
                title=_("Daily report of %(node)s for %(day)s is late")
                % {"node": r.jurisdiction.name, "day": r.day.isoformat()},
                jurisdiction_path=r.jpath,
                object_type="command.dailyreport",
                object_id=str(r.pk),
                dedupe_key=f"command.report_late:{r.pk}",
            )
            for r in late
        ]
    )
    return len(late)
