"""Each role's home: its day's work, as counts and the first items of its worklists.

A home is a list of panels. Every panel reads through the owning module's scoped selectors, so a
home shows nothing a role could not find in the module pages themselves, and every panel links
into the page where the work is done: the grid worker's households to visit (screening), a place's
own staff their places (places), vaccination staff their day's doses and open adverse events,
and enterprise or school officers their resumption applications.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fangkong.accounts.roles import Role
from fangkong.common.alerts import alert_list

FIRST = 5  # items of a worklist shown on the home


@dataclass
class Item:
    text: str
    detail: str = ""
    url: str = ""


@dataclass
class Panel:
    key: str
    title: str
    figures: list[tuple[str, int]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    link: str = ""
    link_label: str = ""
    empty: str = ""


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%m-%d %H:%M") if moment else ""


def _occupancy_figures(counts: dict) -> list[tuple[str, int]]:
    """Rooms and beds alike: how many are vacant and how many occupied."""
    return [(_("vacant"), counts.get("vacant", 0)), (_("occupied"), counts.get("occupied", 0))]


def _occupancy_item(name: str, counts: dict, url: str) -> Item:
    """One isolation site or hospital of an occupancy panel, with its vacant and occupied."""
    return Item(
        name,
        _("%(free)s vacant, %(occ)s occupied")
        % {"free": counts.get("vacant", 0), "occ": counts.get("occupied", 0)},
        url,
    )


# --- panels ------------------------------------------------------------------------------------


def leads_panel(user) -> Panel:
    from fangkong.tracing import selectors as tracing

    counts = tracing.lead_counts(actor=user)
    pushed = tracing.worklist(actor=user, state="pushed").select_related("person")
    return Panel(
        key="leads",
        title=_("Leads to verify"),
        figures=[
            (_("pushed, to verify"), counts["pushed"]),
            (_("verified, to control"), counts["verified"]),
        ],
        items=[
            Item(
                c.person.name,
                f"{c.get_kind_display()} · {_local(c.pushed_at)}",
                reverse("tracing:worklist") + f"?state=pushed#lead-{c.pk}",
            )
            for c in pushed.order_by("-pushed_at", "id")[:FIRST]
        ],
        link=reverse("tracing:worklist"),
        link_label=_("Open the lead worklist"),
        empty=_("No leads waiting."),
    )


def checks_panel(user) -> Panel:
    from fangkong.control import selectors as control

    today = timezone.localdate()
    orders = control.check_list(actor=user, day=today).select_related("person")
    total = orders.count()
    first = list(orders[:200])
    done = control.checks_for([o.pk for o in first], today)
    due = [o for o in first if o.pk not in done]
    done_count = (
        len(control.checks_for([o.pk for o in orders], today)) if total > 200 else len(done)
    )
    return Panel(
        key="checks",
        title=_("Health checks due today"),
        figures=[
            (_("under daily checks"), total),
            (_("not yet checked today"), total - done_count),
        ],
        items=[
            Item(
                o.person.name,
                o.get_category_display(),
                reverse("control:checks") + f"#order-{o.pk}",
            )
            for o in due[:FIRST]
        ],
        link=reverse("control:checks"),
        link_label=_("Record today's checks"),
        empty=_("Every check of today is recorded."),
    )


def _open_round(user):
    from fangkong.testing import selectors as testing

    return testing.round_list(actor=user).filter(status="open").first()


def untested_panel(user, key="untested", title=None) -> Panel:
    from fangkong.testing import selectors as testing

    round_ = _open_round(user)
    if round_ is None:
        return Panel(
            key=key, title=title or _("Households to visit"), empty=_("No testing round is open.")
        )
    people = testing.untested_list(actor=user, round_=round_)
    url = reverse("testing:untested", args=[round_.code])
    first = list(people.select_related("household")[:FIRST])
    return Panel(
        key=key,
        title=title or _("Households to visit"),
        figures=[(_("not yet tested in %(round)s") % {"round": round_.name}, people.count())],
        items=[
            Item(p.name, p.grid.name if p.grid_id else "", reverse("people:detail", args=[p.pk]))
            for p in first
        ],
        link=url,
        link_label=_("Open the untested list"),
        empty=_("Everyone has been tested in this round."),
    )


def desk_panel(user) -> Panel:
    from fangkong.testing import selectors as testing

    round_ = _open_round(user)
    sites = testing.site_list(actor=user)
    return Panel(
        key="desk",
        title=_("Sampling desk"),
        figures=[(_("sampling sites"), sites.count())],
        items=[
            Item(
                s.name,
                s.code,
                reverse("testing:scanner")
                + (f"?round={round_.code}&site={s.code}" if round_ else f"?site={s.code}"),
            )
            for s in sites.order_by("code")[:FIRST]
        ],
        link=reverse("testing:scanner"),
        link_label=_("Open the scanner"),
        empty=_("No sampling site in your area."),
    )


def lab_panel(user) -> Panel:
    from fangkong.testing import selectors as testing

    tubes = testing.tube_list(actor=user)
    counts = dict(tubes.order_by().values_list("status").annotate(n=Count("id")))
    rechecks = testing.recheck_list(actor=user).filter(status="pending").count()
    return Panel(
        key="lab",
        title=_("Lab work"),
        figures=[
            (_("tubes received, awaiting a result"), counts.get("received", 0)),
            (_("tubes in transit"), counts.get("in_transit", 0) + counts.get("boxed", 0)),
            (_("re-checks to sample"), rechecks),
        ],
        link=reverse("testing:lab"),
        link_label=_("Open the lab page"),
    )


def rooms_panel(user) -> Panel:
    from fangkong.control import selectors as control

    occupancy = control.site_occupancy(actor=user)
    total = occupancy["total"]
    return Panel(
        key="rooms",
        title=_("Isolation rooms"),
        figures=[*_occupancy_figures(total), (_("cleaning"), total.get("cleaning", 0))],
        items=[
            _occupancy_item(s["name"], s, reverse("control:site", args=[s["id"]]))
            for s in occupancy["sites"][:FIRST]
        ],
        link=reverse("control:board"),
        link_label=_("Open the control board"),
        empty=_("No isolation site in your area."),
    )


def arrivals_panel(user) -> Panel:
    from fangkong.checkpoints import selectors as checkpoints

    board = checkpoints.transfer_board(actor=user)
    moving = [
        t
        for state, _label, ts in board["columns"]
        if state in ("dispatched", "picked_up", "arrived")
        for t in ts
    ]
    return Panel(
        key="arrivals",
        title=_("Arrivals by transfer"),
        figures=[(_("transfers on the way"), len(moving)), (_("overdue"), board["overdue"])],
        items=[
            Item(
                f"{t.vehicle} · {t.pickup}",
                _("%(n)s waiting to check in") % {"n": t.waiting},
                reverse("checkpoints:transfers"),
            )
            for t in moving[:FIRST]
        ],
        link=reverse("checkpoints:transfers"),
        link_label=_("Open the transfers"),
        empty=_("No transfer on the way."),
    )


def checkpoint_panel(user) -> Panel:
    from fangkong.checkpoints import selectors as checkpoints

    today = checkpoints.arrivals_today(actor=user)
    waiting = checkpoints.awaiting_transfer(actor=user).count()
    return Panel(
        key="checkpoint",
        title=_("Today at the checkpoints"),
        figures=[
            (_("arrivals registered today"), today["total"]),
            (_("awaiting a transfer"), waiting),
        ],
        link=reverse("checkpoints:register"),
        link_label=_("Register an arrival"),
    )


def beds_panel(user) -> Panel:
    from fangkong.care import selectors as care

    occupancy = care.bed_occupancy(actor=user)
    total = occupancy["total"]
    return Panel(
        key="beds",
        title=_("Beds"),
        figures=[
            *_occupancy_figures(total),
            (_("patients admitted"), care.admission_counts(actor=user)["admitted"]),
        ],
        items=[
            _occupancy_item(
                row["facility"].name, row, reverse("care:board", args=[row["facility"].pk])
            )
            for row in occupancy["facilities"][:FIRST]
        ],
        link=reverse("care:overview"),
        link_label=_("Open the bed board"),
        empty=_("No hospital in your area."),
    )


def cases_panel(user) -> Panel:
    from fangkong.tracing import selectors as tracing

    cases = tracing.case_list(actor=user)
    return Panel(
        key="cases",
        title=_("Cases"),
        figures=[(_("cases in your area"), cases.count())],
        items=[
            Item(
                c.code,
                f"{c.get_classification_display()} · {c.report_date:%m-%d}",
                reverse("tracing:case", args=[c.pk]),
            )
            for c in cases.order_by("-reported_at", "-id")[:FIRST]
        ],
        link=reverse("tracing:cases"),
        link_label=_("Open the cases"),
        empty=_("No case."),
    )


def tasks_panel(user) -> Panel:
    from fangkong.command import selectors as command

    board = command.task_board(actor=user)
    assigned = board["assigned"]
    return Panel(
        key="tasks",
        title=_("My tasks"),
        figures=[
            (_("to do"), assigned.count()),
            (_("overdue"), assigned.filter(overdue=1).count()),
        ],
        items=[
            Item(
                t.title,
                _("due %(when)s") % {"when": _local(t.deadline)},
                reverse("command:task", args=[t.pk]),
            )
            for t in assigned[:FIRST]
        ],
        link=reverse("command:tasks"),
        link_label=_("Open the tasks"),
        empty=_("No task assigned."),
    )


def findings_panel(user) -> Panel:
    from fangkong.command import selectors as command

    findings = command.finding_list(actor=user, open_only=True)
    return Panel(
        key="findings",
        title=_("Open findings"),
        figures=[
            (_("inspections"), command.inspection_list(actor=user).count()),
            (_("findings awaiting rectification"), findings.count()),
        ],
        link=reverse("command:inspections"),
        link_label=_("Open the inspections"),
    )


def requests_panel(user) -> Panel:
    from fangkong.supplies import selectors as supplies

    open_ = supplies.request_list(actor=user).filter(status__in=["open", "partial"])
    return Panel(
        key="requests",
        title=_("Supply requests to allocate"),
        figures=[(_("open requests"), open_.count())],
        items=[
            Item(f"{r.item.name} × {r.quantity}", r.jurisdiction.name, reverse("supplies:requests"))
            for r in open_.select_related("item", "jurisdiction").order_by("needed_by", "id")[
                :FIRST
            ]
        ],
        link=reverse("supplies:requests"),
        link_label=_("Open the supply requests"),
        empty=_("No open request."),
    )


def audit_panel(user) -> Panel:
    from fangkong.audit.selectors import audit_list

    since = timezone.now() - timezone.timedelta(days=1)
    entries = audit_list(actor=user)
    return Panel(
        key="audit",
        title=_("Audit log"),
        figures=[(_("entries in the last 24 hours"), entries.filter(at__gte=since).count())],
        link=reverse("audit:list"),
        link_label=_("Open the audit log"),
    )


def alerts_panel(user) -> Panel:
    from fangkong.common.alerts import alert_groups

    groups = alert_groups(actor=user)
    return Panel(
        key="alerts",
        title=_("Open alerts"),
        figures=[(_("open alerts"), sum(g["count"] for g in groups))],
        items=[
            Item(
                f"{g['label']} × {g['count']}",
                g["node"],
                reverse("common:alerts") + f"?kind={g['kind']}",
            )
            for g in groups[:FIRST]
        ],
        link=reverse("common:alerts"),
        link_label=_("Open the alert centre"),
        empty=_("No open alert."),
    )


# --- the homes ---------------------------------------------------------------------------------


def households_panel(user) -> Panel:
    from django.db.models import Q

    from fangkong.screening import selectors as screening
    from fangkong.screening.models import Campaign

    todo = (
        screening.assignment_list_all(actor=user)
        .filter(campaign__status=Campaign.Status.OPEN, visited_at__isnull=True)
        .filter(Q(worker__isnull=True) | Q(worker_id=user.pk))
        .select_related("household", "campaign")
    )
    return Panel(
        key="households",
        title=_("Households to visit"),
        figures=[(_("not yet visited"), todo.count())],
        items=[
            Item(
                a.household.address or str(a.household),
                _("%(campaign)s · due %(when)s")
                % {"campaign": a.campaign.name, "when": _local(a.campaign.deadline)},
                reverse("screening:work"),
            )
            for a in todo.order_by("campaign__deadline", "jpath", "id")[:FIRST]
        ],
        link=reverse("screening:work"),
        link_label=_("Open the door-to-door visits"),
        empty=_("No household waiting for a visit."),
    )


def places_panel(user) -> Panel:
    from fangkong.places import selectors as places

    today = timezone.localdate()
    mine = list(places.place_list(actor=user).order_by("name", "id")[:FIRST])
    start, end = places.day_bounds(today)
    scans = places.scan_list(actor=user).filter(scanned_at__gte=start, scanned_at__lt=end)
    checks = places.duty_check_list(actor=user).filter(day=today)
    return Panel(
        key="places",
        title=_("My places"),
        figures=[(_("scans today"), scans.count()), (_("duty checks today"), checks.count())],
        items=[
            Item(p.name, p.get_kind_display(), reverse("places:detail", args=[p.pk])) for p in mine
        ],
        link=reverse("places:list"),
        link_label=_("Open the key places"),
        empty=_("No place bound to you."),
    )


def vaccination_panel(user) -> Panel:
    from fangkong.vaccination import selectors as vaccination
    from fangkong.vaccination.models import Aefi

    today = timezone.localdate()
    doses = vaccination.dose_list(actor=user).filter(given_at__date=today)
    open_aefi = vaccination.aefi_list(actor=user).exclude(status=Aefi.Status.CLOSED)
    return Panel(
        key="vaccination",
        title=_("Vaccination today"),
        figures=[
            (_("doses given today"), doses.count()),
            (_("adverse events open"), open_aefi.count()),
        ],
        items=[
            Item(
                a.person.name,
                a.get_status_display(),
                reverse("vaccination:aefi-detail", args=[a.pk]),
            )
            for a in open_aefi.order_by("-id")[:FIRST]
        ],
        link=reverse("vaccination:record"),
        link_label=_("Record a dose"),
        empty=_("No adverse event open."),
    )


def resumption_panel(user) -> Panel:
    from fangkong.resumption import selectors as resumption

    applications = resumption.application_list(actor=user).select_related("organisation")
    return Panel(
        key="resumption",
        title=_("Resumption applications"),
        figures=[
            (_("awaiting decision"), applications.filter(status="pending").count()),
            (_("returned"), applications.filter(status="returned").count()),
        ],
        items=[
            Item(a.organisation.name, a.get_status_display(), reverse("resumption:overview"))
            for a in applications.order_by("-id")[:FIRST]
        ],
        link=reverse("resumption:overview"),
        link_label=_("Open resumption"),
        empty=_("No application yet."),
    )


HOMES = {
    Role.GRID_WORKER: [leads_panel, checks_panel, households_panel, untested_panel, tasks_panel],
    Role.SAMPLER: [
        desk_panel,
        lambda u: untested_panel(u, key="untested", title=_("Not yet tested")),
        tasks_panel,
    ],
    Role.LAB_STAFF: [lab_panel, tasks_panel],
    Role.ISOLATION_STAFF: [rooms_panel, arrivals_panel, checks_panel, tasks_panel],
    Role.HOSPITAL_STAFF: [beds_panel, cases_panel, tasks_panel],
    Role.CHECKPOINT_STAFF: [checkpoint_panel, arrivals_panel, tasks_panel],
    Role.EPIDEMIOLOGIST: [cases_panel, leads_panel, tasks_panel],
    Role.SUPPLY_OFFICER: [requests_panel, tasks_panel],
    Role.INSPECTOR: [findings_panel, tasks_panel],
    Role.AUDITOR: [audit_panel],
    Role.HQ_STAFF: [tasks_panel, cases_panel, rooms_panel, beds_panel],
    Role.PLACE_STAFF: [places_panel, tasks_panel],
    Role.VACCINATOR: [vaccination_panel, tasks_panel],
    Role.ENTERPRISE_STAFF: [resumption_panel, tasks_panel, requests_panel],
}
# The roles whose home is the command picture itself.
BIG_SCREEN_ROLES = {Role.COMMANDER}


def home_panels(user) -> list[Panel]:
    builders = HOMES.get(user.role, [tasks_panel])
    panels = [build(user) for build in builders]
    if user.role != Role.AUDITOR:
        panels.append(alerts_panel(user))
    return panels


def open_alerts(user) -> int:
    return alert_list(actor=user, open_only=True).count()
