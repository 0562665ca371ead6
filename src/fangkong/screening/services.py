"""Writes of door-to-door screening: open a campaign over a subtree (its households and grids,
set-based), record visits from the phones (idempotent on the phone's id, conflicts per visit),
turn people who fit a rule into control orders and alerts through the owning modules, re-assign
households, set grid deadlines, close the campaign."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.command.selectors import is_risk_origin
from fangkong.common import errors, events, paths
from fangkong.common.alerts import alert_raise
from fangkong.common.scope import path_within, require
from fangkong.control import services as control
from fangkong.control.models import Category, ControlOrder
from fangkong.geo.models import Jurisdiction, Level
from fangkong.people.models import Person

from . import roles
from .models import (
    Assignment,
    Campaign,
    Finding,
    GridCoverage,
    Outcome,
    Question,
    Vaccination,
    Visit,
    VisitPerson,
)

# A phone's clock may run a little ahead of the server's.
CLOCK_SKEW = dt.timedelta(minutes=10)
MAX_PEOPLE = 30
SYMPTOM_TEST_HOURS = 24  # a test order from a screening symptom is due within a day


class ScreeningError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Conflict(ScreeningError, errors.Conflict):
    pass


class NotFound(ScreeningError, errors.NotFound):
    pass


# --- campaigns --------------------------------------------------------------------------------


def _next_code(day: dt.date) -> str:
    stem = f"PC{day:%Y%m%d}-"
    n = Campaign.objects.filter(code__startswith=stem).count() + 1
    while Campaign.objects.filter(code=f"{stem}{n:03d}").exists():
        n += 1
    return f"{stem}{n:03d}"


def campaign_open(
    *,
    actor,
    jurisdiction: Jurisdiction,
    name: str,
    deadline: dt.datetime,
    questions: list[str] | None = None,
    risk_days: int = 14,
) -> Campaign:
    """A campaign over `jurisdiction`'s subtree: every household of its grids is put in scope, and
    each grid gets its counters row, in three set-based statements whatever the city's size."""
    require(actor, roles.can_open)
    if actor is not None and not path_within(actor, jurisdiction.path):
        raise NotFound()
    name = (name or "").strip()
    if not name:
        raise ScreeningError(_("Give the campaign a name."), code="name_required")
    questions = list(dict.fromkeys(questions or Question.values))
    unknown = [q for q in questions if q not in Question.values]
    if unknown:
        raise ScreeningError(
            _("Unknown question: %s") % ", ".join(unknown), code="unknown_question"
        )
    if not 1 <= int(risk_days) <= 60:
        raise ScreeningError(
            _("The look-back for arrivals lies between 1 and 60 days."), code="risk_days_range"
        )
    if deadline <= timezone.now():
        raise ScreeningError(_("The deadline must lie in the future."), code="deadline_past")
    with transaction.atomic():
        campaign = Campaign.objects.create(
            code=_next_code(timezone.localdate()),
            name=name[:120],
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            questions=questions,
            risk_days=risk_days,
            deadline=deadline,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        households = _scope_fill(campaign)
        if households == 0:
            raise ScreeningError(
                _("There is no household registered under %s.") % jurisdiction.name,
                code="no_households",
            )
        audit_created(
            actor=actor,
            obj=campaign,
            fields={
                "jurisdiction": jurisdiction.code,
                "deadline": deadline.isoformat(),
                "households": households,
                "questions": ",".join(questions),
            },
        )
        events.publish("screening.campaign_opened", campaign_id=campaign.pk)
    return campaign


def _scope_fill(campaign: Campaign) -> int:
    """The households, grids and resident counts of the campaign's subtree (set-based).

    A city campaign puts millions of households in scope: the rows go in one INSERT … SELECT in
    the order of the (campaign, jpath in byte order, household) index, so that index and the
    (household, campaign) one grow at their right edge instead of being written all over. The
    grid counters are two GROUP BYs over the registry (households per grid, residents per grid
    through their household), not a per-household aggregate joined back to the rows just
    written."""
    prefix = campaign.jpath + "%"
    byte_order = 'COLLATE "C"' if connection.vendor == "postgresql" else "COLLATE BINARY"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The residents' join hashes the scope's households (a few hundred MB for a
            # 10-million city): in memory, not in batches spilled to disk. This transaction only.
            cursor.execute("SET LOCAL work_mem = '512MB'")
        cursor.execute(
            f"""
            INSERT INTO screening_assignment
                (campaign_id, household_id, grid_id, jpath, version, visits, people_seen)
            SELECT %s, h.id, h.grid_id, g.path, 1, 0, 0
            FROM geo_household h JOIN geo_jurisdiction g ON g.id = h.grid_id
            WHERE g.path LIKE %s
            ORDER BY g.path {byte_order}, h.id
            """,
            [campaign.pk, prefix],
        )
        households = cursor.rowcount
        cursor.execute(
            """
            INSERT INTO screening_gridcoverage
                (campaign_id, grid_id, jpath, households, visited, residents, people_seen,
                 findings)
            SELECT %s, s.grid_id, s.path, s.n, 0, COALESCE(r.n, 0), 0, 0
            FROM (
                SELECT h.grid_id, g.path, COUNT(*) AS n
                FROM geo_household h JOIN geo_jurisdiction g ON g.id = h.grid_id
                WHERE g.path LIKE %s
                GROUP BY h.grid_id, g.path
            ) s
            LEFT JOIN (
                SELECT h.grid_id, COUNT(*) AS n
                FROM people_person p
                JOIN geo_household h ON h.id = p.household_id
                JOIN geo_jurisdiction g ON g.id = h.grid_id
                WHERE p.jpath LIKE %s AND g.path LIKE %s
                GROUP BY h.grid_id
            ) r ON r.grid_id = s.grid_id
            """,
            [campaign.pk, prefix, prefix, prefix],
        )
    return households


def campaign_close(*, actor, campaign: Campaign) -> Campaign:
    require(actor, roles.can_open)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.OPEN:
            raise Conflict(_("The campaign is already closed."), code="campaign_closed")
        locked.status = Campaign.Status.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=locked,
            changes={"status": [Campaign.Status.OPEN, Campaign.Status.CLOSED]},
        )
    return locked


def grid_deadline_set(
    *, actor, campaign: Campaign, grid: Jurisdiction, deadline: dt.datetime | None
) -> GridCoverage:
    """A grid that must finish before the campaign does (a sealed compound first); None: the
    campaign's own deadline."""
    require(actor, roles.can_open)
    if actor is not None and not path_within(actor, grid.path):
        raise NotFound()
    if deadline is not None and deadline > campaign.deadline:
        raise ScreeningError(
            _("A grid's deadline cannot be later than the campaign's."), code="deadline_after"
        )
    with transaction.atomic():
        row = GridCoverage.objects.select_for_update().filter(campaign=campaign, grid=grid).first()
        if row is None:
            raise NotFound()
        before = row.deadline.isoformat() if row.deadline else None
        row.deadline = deadline
        row.save(update_fields=["deadline"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=row,
            changes={"deadline": [before, deadline.isoformat() if deadline else None]},
        )
    return row


def assignment_reassign(*, actor, assignment: Assignment, grid: Jurisdiction, worker=None):
    """Move a household to another grid (and optionally one worker of it). Its counters move with
    it, and its version grows: a visit recorded on a phone against the old assignment is then
    answered with the conflict, not stored."""
    require(actor, roles.can_open)
    if grid.level != Level.GRID:
        raise ScreeningError(_("A household is assigned to a grid."), code="not_a_grid")
    if actor is not None and not path_within(actor, grid.path):
        raise NotFound()
    if not paths.within(grid.path, assignment.campaign.jpath):
        raise ScreeningError(
            _("The grid lies outside the campaign's area."), code="grid_outside_campaign"
        )
    if worker is not None and not (
        roles.can_visit(worker) and worker.jurisdiction_id and worker.jurisdiction.path == grid.path
    ):
        raise ScreeningError(
            _("The worker must be a grid worker of that grid."), code="worker_not_of_grid"
        )
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().get(pk=assignment.pk)
        old_grid = locked.grid_id
        if old_grid == grid.pk and locked.worker_id == getattr(worker, "pk", None):
            return locked
        if old_grid != grid.pk:
            visited = 1 if locked.visited_at else 0
            residents = Person.objects.filter(household_id=locked.household_id).count()
            findings = Finding.objects.filter(visit__assignment_id=locked.pk).count()
            GridCoverage.objects.filter(campaign_id=locked.campaign_id, grid_id=old_grid).update(
                households=F("households") - 1,
                visited=F("visited") - visited,
                residents=F("residents") - residents,
                people_seen=F("people_seen") - locked.people_seen,
                findings=F("findings") - findings,
            )
            row, _created = GridCoverage.objects.get_or_create(
                campaign_id=locked.campaign_id, grid=grid, defaults={"jpath": grid.path}
            )
            GridCoverage.objects.filter(pk=row.pk).update(
                households=F("households") + 1,
                visited=F("visited") + visited,
                residents=F("residents") + residents,
                people_seen=F("people_seen") + locked.people_seen,
                findings=F("findings") + findings,
            )
        locked.grid = grid
        locked.jpath = grid.path
        locked.worker = worker
        locked.version += 1
        locked.save(update_fields=["grid", "jpath", "worker", "version"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=locked,
            changes={
                "grid": [old_grid, grid.pk],
                "worker": [assignment.worker_id, getattr(worker, "pk", None)],
                "version": [locked.version - 1, locked.version],
            },
        )
    return locked


# --- visits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    visit: Visit
    duplicate: bool


def _text(value, limit: int) -> str:
    return str(value or "").strip()[:limit]


def _moment(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        moment = parse_datetime(str(value or "")) if value else None
        if moment is None:
            raise ScreeningError(
                _("The time of the visit is missing or unreadable."), code="bad_time"
            )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _day(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        day = parse_date(str(value))
    except ValueError:
        day = None
    if day is None:
        raise ScreeningError(_("The arrival date is unreadable."), code="bad_date")
    return day


def _people(rows, household_id: int) -> list[VisitPerson]:
    if not isinstance(rows, list) or len(rows) > MAX_PEOPLE:
        raise ScreeningError(_("Too many people for one household."), code="too_many_people")
    wanted = {r.get("person") for r in rows if isinstance(r, dict) and r.get("person")}
    members = {
        p.pk: p for p in Person.objects.filter(pk__in=[int(w) for w in wanted if str(w).isdigit()])
    }
    out = []
    for row in rows:
        if not isinstance(row, dict):
            raise ScreeningError(_("Unreadable answers."), code="bad_answers")
        person = None
        if row.get("person"):
            person = members.get(int(row["person"])) if str(row["person"]).isdigit() else None
            if person is None or person.household_id != household_id:
                raise ScreeningError(
                    _("That person is not registered in this household."),
                    code="person_not_in_household",
                )
        name = _text(row.get("name"), 60) or (person.name if person else "")
        if not name:
            raise ScreeningError(_("Give the name of the person met."), code="name_required")
        vaccination = row.get("vaccination") or ""
        if vaccination not in Vaccination.values:
            raise ScreeningError(_("Unknown vaccination status."), code="bad_vaccination")
        out.append(
            VisitPerson(
                person=person,
                name=name,
                lives_here=bool(row.get("lives_here", True)),
                arrived_from=_text(row.get("arrived_from"), 200),
                arrived_on=_day(row.get("arrived_on")),
                fever=bool(row.get("fever")),
                symptoms=bool(row.get("symptoms")),
                vaccination=vaccination,
                elderly_alone=bool(row.get("elderly_alone")),
                special_needs=_text(row.get("special_needs"), 200),
            )
        )
    return out


def visit_record(
    *,
    actor,
    client_id,
    assignment_id,
    version: int,
    outcome: str,
    visited_at,
    people: list | None = None,
    note: str = "",
) -> Recorded:
    """Store one visit made at the door (perhaps hours ago, offline). The phone's id makes it
    idempotent: the same id again is answered `duplicate` with the stored visit. A household
    re-assigned since the phone fetched its worklist, or a closed campaign, is a Conflict with a
    stable code, for the phone to show."""
    require(actor, roles.can_visit)
    try:
        client_id = uuid.UUID(str(client_id))
    except ValueError as exc:
        raise ScreeningError(_("The visit's id is not a UUID."), code="bad_client_id") from exc
    people = people or []
    if outcome not in Outcome.values:
        raise ScreeningError(_("Unknown outcome of the visit."), code="bad_outcome")
    if outcome != Outcome.MET and people:
        raise ScreeningError(
            _("Nobody was met: record no answers."), code="answers_without_meeting"
        )
    try:
        version = int(version or 0)
    except (TypeError, ValueError) as exc:
        raise ScreeningError(_("The worklist version is unreadable."), code="bad_version") from exc
    moment = _moment(visited_at)
    if moment > timezone.now() + CLOCK_SKEW:
        raise ScreeningError(_("The visit lies in the future."), code="visit_in_future")
    with transaction.atomic():
        stored = Visit.objects.filter(client_id=client_id).first()
        if stored is not None:
            if actor is not None and stored.worker_id != getattr(actor, "pk", None):
                raise Conflict(_("That visit id is already used."), code="client_id_taken")
            return Recorded(stored, True)
        try:
            assignment_pk = int(assignment_id)
        except (TypeError, ValueError) as exc:
            raise NotFound() from exc
        assignment = (
            Assignment.objects.select_for_update()
            .select_related("campaign")
            .filter(pk=assignment_pk)
            .first()
        )
        if assignment is None:
            raise NotFound()
        campaign = assignment.campaign
        reassigned = version != assignment.version or (
            assignment.worker_id is not None
            and actor is not None
            and assignment.worker_id != actor.pk
        )
        inside = actor is None or path_within(actor, assignment.jpath)
        if not inside and not (reassigned and 0 < version < assignment.version):
            # Outside the worker's grid and never theirs in a version they could know of.
            raise NotFound()
        if reassigned:
            raise Conflict(
                _("This household was re-assigned meanwhile; the visit was not stored."),
                code="household_reassigned",
            )
        if campaign.status != Campaign.Status.OPEN:
            raise Conflict(_("The campaign is closed."), code="campaign_closed")
        if moment < campaign.created_at - CLOCK_SKEW:
            raise ScreeningError(
                _("The visit lies before the campaign opened."), code="visit_before_campaign"
            )
        rows = _people(people, assignment.household_id)
        visit = Visit.objects.create(
            client_id=client_id,
            campaign=campaign,
            assignment=assignment,
            jpath=assignment.jpath,
            worker=actor if getattr(actor, "is_authenticated", False) else None,
            outcome=outcome,
            visited_at=moment,
            note=_text(note, 255),
        )
        for row in rows:
            row.visit = visit
        VisitPerson.objects.bulk_create(rows)
        findings = _findings(actor, campaign, visit, rows) if rows else []
        _count(assignment, visit, _newly_seen(assignment, visit, rows), len(findings))
        audit_created(
            actor=actor,
            obj=visit,
            fields={
                "client_id": str(client_id),
                "assignment": assignment.pk,
                "outcome": outcome,
                "people": len(rows),
                "findings": len(findings),
            },
        )
        events.publish("screening.visit_recorded", visit_id=visit.pk, findings=len(findings))
    return Recorded(visit, False)


def _seen_key(person_id, name) -> str:
    return f"p{person_id}" if person_id else f"n:{name}"


def _newly_seen(assignment: Assignment, visit: Visit, rows: list[VisitPerson]) -> int:
    """People of this visit not seen at an earlier visit of the household: a household visited
    twice does not count its people twice (the same rule as coverage_recount)."""
    if not rows:
        return 0
    before = {
        _seen_key(person_id, name)
        for person_id, name in VisitPerson.objects.filter(visit__assignment_id=assignment.pk)
        .exclude(visit=visit)
        .values_list("person_id", "name")
    }
    return len({_seen_key(r.person_id, r.name) for r in rows} - before)


def _count(assignment: Assignment, visit: Visit, more_people: int, findings: int) -> None:
    """The counters of the household and its grid (coverage reads only these)."""
    first = visit.outcome == Outcome.MET and assignment.visited_at is None
    Assignment.objects.filter(pk=assignment.pk).update(
        visits=F("visits") + 1,
        people_seen=F("people_seen") + more_people,
        **({"visited_at": visit.visited_at} if first else {}),
    )
    GridCoverage.objects.filter(
        campaign_id=assignment.campaign_id, grid_id=assignment.grid_id
    ).update(
        visited=F("visited") + (1 if first else 0),
        people_seen=F("people_seen") + more_people,
        findings=F("findings") + findings,
        last_visit_at=visit.visited_at,
    )


def _findings(actor, campaign: Campaign, visit: Visit, rows: list[VisitPerson]) -> list[Finding]:
    """Who fits a rule, and what the owning module did: a risk-area arrival within the campaign's
    look-back gets its control order from the control module (under the person's policy; an open
    order is kept); fever or symptoms alert the grid and the sampling team for a test on the spot;
    someone living there who is not in the registry is reported to the grid."""
    found = []
    since = timezone.localdate(visit.visited_at) - dt.timedelta(days=campaign.risk_days)
    for row in rows:
        if row.arrived_from and (row.arrived_on is None or row.arrived_on >= since):
            area = is_risk_origin(row.arrived_from)
            if area is not None:
                found.append(_risk_arrival(actor, campaign, visit, row, area))
        if row.fever or row.symptoms:
            found.append(_symptom(campaign, visit, row))
    return found


def _finding(campaign, visit, row, **fields) -> Finding:
    return Finding.objects.create(
        campaign=campaign,
        visit=visit,
        visit_person=row,
        person=row.person,
        jpath=visit.jpath,
        **fields,
    )


def _risk_arrival(actor, campaign, visit, row, area) -> Finding:
    detail = f"{row.arrived_from} ({area.get_level_display()})"[:200]  # for the order's reason
    coded = {
        "detail_code": "risk_arrival",
        "params": {"origin": row.arrived_from[:100], "level": area.level},
    }
    if row.person is None:
        finding = _finding(
            campaign,
            visit,
            row,
            kind=Finding.Kind.RISK_ARRIVAL,
            action=Finding.Action.NOT_IN_REGISTRY,
            risk_level=area.level,
            **coded,
        )
        alert_raise(
            kind="screening_unregistered",
            title=_("Risk-area arrival not in the registry: %s") % row.name,
            body=detail,
            jurisdiction_path=visit.jpath,
            obj=finding,
            dedupe_key=f"screening:unregistered:{finding.pk}",
        )
        return finding
    action, order = Finding.Action.ORDER_OPENED, None
    try:
        with transaction.atomic():
            order = control.control_order_open(
                actor=actor,
                person=row.person,
                category=Category.RISK_AREA,
                start=visit.visited_at,
                reason=_("Arrived from %s") % detail,
                source=_("Door-to-door screening"),
            )
    except control.Conflict:
        action = Finding.Action.ORDER_EXISTS
        order = ControlOrder.objects.filter(
            person=row.person, status=ControlOrder.Status.OPEN
        ).first()
    except control.ControlError:
        action = Finding.Action.NOT_CONTROLLED
    return _finding(
        campaign,
        visit,
        row,
        kind=Finding.Kind.RISK_ARRIVAL,
        action=action,
        risk_level=area.level,
        control_order=order,
        **coded,
    )


def _symptom(campaign, visit, row) -> Finding:
    """Fever or symptoms: a test order through testing's service for a registry resident (on
    the due-test list the samplers and the grid work; kept if one is open), and the alert."""
    from fangkong.testing.models import TestOrder
    from fangkong.testing.services import test_order_place

    finding = _finding(
        campaign,
        visit,
        row,
        kind=Finding.Kind.SYMPTOM,
        action=Finding.Action.TEST_ALERT,
        detail_code="symptom",
        params={"fever": bool(row.fever), "symptoms": bool(row.symptoms)},
    )
    if row.person is not None:
        order, _placed = test_order_place(
            actor=None,
            person=row.person,
            reason=TestOrder.Reason.FEVER if row.fever else TestOrder.Reason.SYMPTOMS,
            due_by=visit.visited_at + dt.timedelta(hours=SYMPTOM_TEST_HOURS),
            source=f"screening.finding:{finding.pk}",
            now=min(timezone.now(), visit.visited_at),
        )
        finding.test_order, finding.action = order, Finding.Action.TEST_ORDERED
        finding.save(update_fields=["test_order", "action"])
    alert_raise(
        kind="screening_symptom",
        title=_("Screening found %(what)s: %(name)s, test on the spot")
        % {"what": finding.detail_text, "name": row.name},
        body=str(visit.assignment.household),
        jurisdiction_path=visit.jpath,
        level="critical" if row.fever else "warning",
        obj=finding,
        dedupe_key=f"screening:symptom:{finding.pk}",
    )
    return finding


def coverage_recount(*, campaign: Campaign) -> None:
    """Every counter of the campaign recomputed from the visits, set-based: after a bulk load of
    visits, or to check the writer's counters (the tests compare the two)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE screening_assignment SET
              visits = (SELECT COUNT(*) FROM screening_visit v
                        WHERE v.assignment_id = screening_assignment.id),
              visited_at = (SELECT MIN(v.visited_at) FROM screening_visit v
                            WHERE v.assignment_id = screening_assignment.id AND v.outcome = 'met'),
              people_seen = (SELECT COUNT(DISTINCT CASE WHEN vp.person_id IS NULL
                                     THEN 'n:' || vp.name
                                     ELSE 'p' || CAST(vp.person_id AS VARCHAR(20)) END)
                             FROM screening_visitperson vp
                             JOIN screening_visit v ON v.id = vp.visit_id
                             WHERE v.assignment_id = screening_assignment.id)
            WHERE campaign_id = %s
            """,
            [campaign.pk],
        )
        cursor.execute(
            """
            UPDATE screening_gridcoverage SET
              households = (SELECT COUNT(*) FROM screening_assignment a
                            WHERE a.campaign_id = screening_gridcoverage.campaign_id
                              AND a.grid_id = screening_gridcoverage.grid_id),
              visited = (SELECT COUNT(*) FROM screening_assignment a
                         WHERE a.campaign_id = screening_gridcoverage.campaign_id
                           AND a.grid_id = screening_gridcoverage.grid_id
                           AND a.visited_at IS NOT NULL),
              people_seen = (SELECT COALESCE(SUM(a.people_seen), 0) FROM screening_assignment a
                             WHERE a.campaign_id = screening_gridcoverage.campaign_id
                               AND a.grid_id = screening_gridcoverage.grid_id),
              findings = (SELECT COUNT(*) FROM screening_finding f
                          JOIN screening_visit v ON v.id = f.visit_id
                          JOIN screening_assignment a ON a.id = v.assignment_id
                          WHERE a.campaign_id = screening_gridcoverage.campaign_id
                            AND a.grid_id = screening_gridcoverage.grid_id),
              last_visit_at = (SELECT MAX(v.visited_at) FROM screening_visit v
                               JOIN screening_assignment a ON a.id = v.assignment_id
                               WHERE a.campaign_id = screening_gridcoverage.campaign_id
                                 AND a.grid_id = screening_gridcoverage.grid_id)
            WHERE campaign_id = %s
            """,
            [campaign.pk],
        )


def visits_sync(*, actor, visits: list) -> list[dict]:
    """The phone's queue, one answer per visit in the same order: `stored`, `duplicate` (stored
    before: the phone may forget it), `conflict` or `rejected` (with the code and the message,
    for the worker to see). One visit's refusal never sinks the others."""
    require(actor, roles.can_visit)
    answers = []
    for item in visits:
        item = item if isinstance(item, dict) else {}
        answer = {"client_id": str(item.get("client_id", ""))[:40], "visit": None}
        try:
            recorded = visit_record(
                actor=actor,
                client_id=item.get("client_id"),
                assignment_id=item.get("assignment"),
                version=item.get("version") or 0,
                outcome=item.get("outcome", ""),
                visited_at=item.get("visited_at"),
                people=item.get("people") or [],
                note=item.get("note", ""),
            )
        except errors.DomainError as exc:
            status = "conflict" if isinstance(exc, errors.Conflict) else "rejected"
            answer.update(status=status, code=exc.code, detail=str(exc.message))
        else:
            answer.update(
                status="duplicate" if recorded.duplicate else "stored",
                code="",
                detail="",
                visit=recorded.visit.pk,
            )
        answers.append(answer)
    return answers
