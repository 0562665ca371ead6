"""Writes of resumption: organisations and their officers, applications and their decision, and
the returning workforce, whose arrivals from risk areas get the policy's measures from control."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.roles import Role
from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record, audit_updated
from fangkong.checkpoints.models import HealthCode
from fangkong.checkpoints.services import disposition_decide
from fangkong.command.selectors import is_risk_origin
from fangkong.common import errors, events, imports
from fangkong.common.scope import operator_or_actor_path, path_within, require
from fangkong.control import services as control
from fangkong.control.models import ControlOrder
from fangkong.people.models import Person
from fangkong.testing.services import scan_number

from . import roles
from .models import Application, Organisation, Worker

# A worker registered by their employer has no temperature taken at a gate: the rules are asked
# with a normal one and a green code, so only where they come from decides.
_NO_FEVER = Decimal("36.5")


class ResumptionError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Invalid(ResumptionError, errors.Invalid):
    pass


class Conflict(ResumptionError, errors.Conflict):
    pass


def _within(actor, path: str) -> None:
    if actor is not None and not path_within(actor, path):
        raise errors.NotFound()


def _officer_of(actor, organisation: Organisation) -> None:
    """An officer files only for an organisation they are bound to; admins for any in scope."""
    require(actor, roles.can_file)
    if actor is None:
        return
    _within(actor, organisation.jpath)
    if roles.is_officer_only(actor) and not organisation.officers.filter(pk=actor.pk).exists():
        raise errors.NotFound()


# --- organisations ------------------------------------------------------------------------


def organisation_register(
    *, actor, kind: str, jurisdiction=None, code: str = "", name: str = "", enterprise=None
) -> Organisation:
    """An enterprise (one of supplies' enterprises) or a school, in the actor's subtree."""
    require(actor, roles.can_decide)
    if kind not in Organisation.Kind.values:
        raise Invalid(_("Choose enterprise or school."), code="unknown_kind")
    if kind == Organisation.Kind.ENTERPRISE:
        if enterprise is None:
            raise Invalid(
                _("An enterprise is one of the enterprises supplies knows."),
                code="enterprise_required",
            )
        code, name, jurisdiction = enterprise.code, enterprise.name, enterprise.jurisdiction
    elif enterprise is not None:
        raise Invalid(_("A school is not an enterprise."), code="school_not_enterprise")
    if not code.strip() or not name.strip() or jurisdiction is None:
        raise Invalid(_("A school needs a code, a name and its node."), code="school_incomplete")
    _within(actor, jurisdiction.path)
    with transaction.atomic():
        if Organisation.objects.filter(code=code.strip()).exists() or (
            enterprise is not None and Organisation.objects.filter(enterprise=enterprise).exists()
        ):
            raise Conflict(_("It is registered already."), code="organisation_exists")
        organisation = Organisation.objects.create(
            code=code.strip(),
            name=name.strip(),
            kind=kind,
            enterprise=enterprise,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
        )
        audit_created(
            actor=actor, obj=organisation, fields={"code": organisation.code, "kind": kind}
        )
    return organisation


def organisation_officer_add(*, actor, organisation: Organisation, user) -> Organisation:
    """Bind an enterprise or school officer's login to the organisation they file for."""
    require(actor, roles.can_decide)
    _within(actor, organisation.jpath)
    if user.role != Role.ENTERPRISE_STAFF:
        raise Invalid(
            _("Only an enterprise or school officer's login files for an organisation."),
            code="not_an_officer",
        )
    node = user.jurisdiction
    if node is None or not organisation.jpath.startswith(node.path):
        raise Invalid(
            _("The organisation lies outside the officer's own node."), code="outside_officer_node"
        )
    with transaction.atomic():
        organisation.officers.add(user)
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=organisation,
            changes={"officers": [None, user.username]},
        )
    return organisation


# --- applications -------------------------------------------------------------------------

PLAN_FIELDS = ("duty_officer", "duty_phone", "canteen", "dormitory", "plan")


def application_submit(
    *,
    actor,
    organisation: Organisation,
    resume_on: dt.date,
    duty_officer: str,
    duty_phone: str,
    staff_count: int,
    nonlocal_staff: int,
    canteen: str,
    dormitory: str,
    masks: int,
    thermometers: int,
    plan: str,
    at: dt.datetime | None = None,
) -> Application:
    """File an application with its prevention plan; a returned one is revised by filing anew."""
    _officer_of(actor, organisation)
    values = {
        "duty_officer": duty_officer.strip(),
        "duty_phone": duty_phone.strip(),
        "canteen": canteen.strip(),
        "dormitory": dormitory.strip(),
        "plan": plan.strip(),
    }
    missing = {key: _("This field is required.") for key, value in values.items() if not value}
    if missing:
        raise Invalid(
            _("The prevention plan names the duty officer, canteen, dormitory and measures."),
            code="plan_incomplete",
            fields=missing,
        )
    if staff_count < 1:
        raise Invalid(_("Enter how many staff or students return."), code="staff_required")
    if nonlocal_staff > staff_count:
        raise Invalid(
            _("Staff from elsewhere cannot outnumber the staff."), code="nonlocal_exceeds_staff"
        )
    if min(nonlocal_staff, masks, thermometers) < 0:
        raise Invalid(_("Counts are zero or more."), code="negative_count")
    with transaction.atomic():
        live = organisation.applications.filter(
            status__in=[Application.Status.PENDING, Application.Status.APPROVED]
        ).first()
        if live is not None:
            raise Conflict(
                _("%(name)s already has an application %(status)s.")
                % {"name": organisation.name, "status": live.get_status_display()},
                code="application_open",
            )
        try:
            with transaction.atomic():
                application = Application.objects.create(
                    organisation=organisation,
                    jpath=organisation.jpath,
                    resume_on=resume_on,
                    staff_count=staff_count,
                    nonlocal_staff=nonlocal_staff,
                    masks=masks,
                    thermometers=thermometers,
                    submitted_at=at or timezone.now(),
                    submitted_by=actor if getattr(actor, "is_authenticated", False) else None,
                    **values,
                )
        except IntegrityError as exc:  # a concurrent filing won the race
            raise Conflict(_("An application is already open."), code="application_open") from exc
        audit_created(
            actor=actor,
            obj=application,
            fields={"organisation": organisation.code, "resume_on": resume_on.isoformat()},
        )
        events.publish("resumption.submitted", application_id=application.pk)
    return application


def _decide(application: Application) -> None:
    if application.status == Application.Status.APPROVED:
        raise Conflict(_("The application is approved already."), code="already_approved")
    if application.status == Application.Status.RETURNED:
        raise Conflict(_("The application was returned already."), code="already_returned")


def application_approve(
    *, actor, application: Application, at: dt.datetime | None = None
) -> Application:
    require(actor, roles.can_decide)
    _within(actor, application.jpath)
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        _decide(application)
        application.status = Application.Status.APPROVED
        application.decided_at = at or timezone.now()
        application.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        application.save(update_fields=["status", "decided_at", "decided_by"])
        audit_updated(
            actor=actor, obj=application, before={"status": "pending"}, after={"status": "approved"}
        )
        events.publish("resumption.approved", application_id=application.pk)
    return application


def application_return(
    *, actor, application: Application, reason: str, at: dt.datetime | None = None
) -> Application:
    """Send the application back with the reasons, for the organisation to revise and file anew."""
    require(actor, roles.can_decide)
    _within(actor, application.jpath)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(
            _("Say why the application goes back."),
            code="reason_required",
            fields={"reason": _("This field is required.")},
        )
    with transaction.atomic():
        application = Application.objects.select_for_update().get(pk=application.pk)
        _decide(application)
        application.status = Application.Status.RETURNED
        application.reason = reason[:500]
        application.decided_at = at or timezone.now()
        application.decided_by = actor if getattr(actor, "is_authenticated", False) else None
        application.save(update_fields=["status", "reason", "decided_at", "decided_by"])
        audit_updated(
            actor=actor,
            obj=application,
            before={"status": "pending", "reason": ""},
            after={"status": "returned", "reason": application.reason},
        )
        events.publish("resumption.returned", application_id=application.pk)
    return application


# --- the workforce ------------------------------------------------------------------------


class _Measures:
    """Where a worker comes from decides their measure: the strictest active risk area of the
    origin (command's rule, as at checkpoints), then the policy through control's service."""

    def __init__(self):
        self._areas: dict[str, object] = {}

    def area(self, origin: str):
        if origin not in self._areas:
            self._areas[origin] = is_risk_origin(origin)
        return self._areas[origin]

    def apply(self, *, actor, worker: Worker, person, organisation: Organisation, at) -> None:
        area = self.area(worker.origin)
        worker.risk_area = area
        worker.risk_level = area.level if area else ""
        if area is None:
            return
        decision = disposition_decide(
            temperature=_NO_FEVER, health_code=HealthCode.GREEN, risk_level=area.level
        )
        if decision.category is None:
            return
        if person is None:
            raise Invalid(
                _("Not in the registry: the grid registers them first, so control can follow."),
                code="person_not_registered",
            )
        order = ControlOrder.objects.filter(person=person, status=ControlOrder.Status.OPEN).first()
        if order is None:
            try:
                # The organisation's own step opens the order under the organisation's rule
                # (as an arrival does at a checkpoint), not under the officer's role.
                order = control.control_order_open(
                    actor=actor,
                    person=person,
                    category=decision.category,
                    start=at,
                    reason=("; ".join([*decision.reasons, area.name]))[:200],
                    source=organisation.name[:60],
                )
            except control.ControlError as exc:
                if exc.code == "category_not_controlled":
                    return  # the policy in force puts this category under no measure
                raise ResumptionError(str(exc), code=exc.code) from exc
        worker.order = order


def _arrival_start(arrival_date: dt.date, now: dt.datetime) -> dt.datetime:
    """The order starts on arrival (noon, local) or now, whichever is later: the days count
    from when they came."""
    start = timezone.make_aware(dt.datetime.combine(arrival_date, dt.time(12)))
    return min(start, now) if arrival_date <= timezone.localdate(now) else now


def worker_register(
    *,
    actor,
    organisation: Organisation,
    document_number: str,
    name: str,
    origin: str,
    arrival_date: dt.date,
    kind: str = Worker.Kind.STAFF,
    phone: str = "",
    at: dt.datetime | None = None,
) -> Worker:
    """Register one returning worker or student; one from a risk area is put under control."""
    _officer_of(actor, organisation)
    number = scan_number(document_number) if document_number else ""
    if not number:
        raise Invalid(_("Enter the ID number."), code="document_required")
    if kind not in Worker.Kind.values:
        raise Invalid(_("Staff or student."), code="unknown_kind")
    if not name.strip() or not origin.strip():
        raise Invalid(_("Enter the name and where they come from."), code="worker_incomplete")
    now = at or timezone.now()
    with transaction.atomic():
        if Worker.objects.filter(organisation=organisation, document_number=number).exists():
            raise Conflict(_("Registered already."), code="worker_exists")
        person = Person.objects.filter(document_number=number).first()
        worker = Worker(
            organisation=organisation,
            jpath=organisation.jpath,
            person=person,
            kind=kind,
            name=name.strip()[:60],
            document_number=number,
            phone=phone.strip()[:20],
            origin=origin.strip()[:200],
            arrival_date=arrival_date,
            registered_at=now,
        )
        _Measures().apply(
            actor=actor,
            worker=worker,
            person=person,
            organisation=organisation,
            at=_arrival_start(arrival_date, now),
        )
        worker.save()
        audit_created(
            actor=actor,
            obj=worker,
            fields={
                "organisation": organisation.code,
                "risk_level": worker.risk_level,
                "order": worker.order_id,
            },
        )
    return worker


IMPORT_COLUMNS = ["id_number", "name", "origin", "arrival_date"]
_IMPORT_ALIASES = {
    "身份证号": "id_number",
    "证件号码": "id_number",
    "document_number": "id_number",
    "姓名": "name",
    "来源地": "origin",
    "从何地返回": "origin",
    "返回日期": "arrival_date",
    "到达日期": "arrival_date",
    "类别": "kind",
    "人员类别": "kind",
    "手机号": "phone",
    "电话": "phone",
}
_KIND_WORDS = {"staff": "staff", "员工": "staff", "职工": "staff", "student": "student"}
_KIND_WORDS |= {"学生": "student", "": "staff"}


def workers_import(
    *,
    actor,
    organisation: Organisation,
    source,
    filename: str = "",
    mode: str = imports.ImportJob.Mode.KEEP_GOOD,
) -> imports.ImportJob:
    """The workforce from a file, one row a person (id_number, name, origin, arrival_date, and
    optionally kind and phone). Every bad row is reported with its line and reason, the good ones
    kept; importing the same file again changes nothing."""
    _officer_of(actor, organisation)
    return imports.run_import(
        kind="resumption.workers",
        actor=actor,
        source=source,
        filename=filename,
        aliases=_IMPORT_ALIASES,
        required=IMPORT_COLUMNS,
        body=lambda job, table: _import_body(actor, organisation, job, table),
        mode=mode,
    )


def _import_body(actor, organisation: Organisation, job, table) -> imports.ImportJob:
    errors_ = table.errors
    wanted: dict[str, dict] = {}
    for line, row in table.rows:
        values = table.original(row)
        problems = []
        number = scan_number(row.get("id_number", "")) if row.get("id_number") else ""
        if not number:
            problems.append(
                imports.RowError(line, "id_number", "", imports.reason("this column is required"))
            )
        for column in ("name", "origin"):
            if not row.get(column):
                problems.append(
                    imports.RowError(line, column, "", imports.reason("this column is required"))
                )
        try:
            arrival = imports.parse_date(row.get("arrival_date", ""))
        except ValueError:
            problems.append(
                imports.RowError(
                    line,
                    "arrival_date",
                    row.get("arrival_date", ""),
                    imports.reason("not a date (YYYY-MM-DD)"),
                )
            )
        kind = _KIND_WORDS.get(row.get("kind", "").strip().lower())
        if kind is None:
            problems.append(
                imports.RowError(
                    line, "kind", row.get("kind", ""), imports.reason("staff or student")
                )
            )
        if problems:
            errors_.reject(line, values, problems)
            continue
        if number in wanted:
            errors_.reject_one(
                line,
                values,
                "id_number",
                "",
                imports.reason("the same person appears on line %(line)s")
                % {"line": wanted[number]["line"]},
            )
            continue
        wanted[number] = {
            "line": line,
            "values": values,
            "name": row["name"][:60],
            "origin": row["origin"][:200],
            "arrival_date": arrival,
            "kind": kind,
            "phone": row.get("phone", "")[:20],
        }
    created = updated = unchanged = 0
    now = timezone.now()
    measures = _Measures()
    for chunk in imports.chunked(list(wanted.items())):
        numbers = [number for number, _data in chunk]
        # Two queries a chunk, whatever its size: the people and the already registered.
        people = {p.document_number: p for p in Person.objects.filter(document_number__in=numbers)}
        existing = {
            w.document_number: w
            for w in Worker.objects.filter(organisation=organisation, document_number__in=numbers)
        }
        new, changed = [], []
        for number, data in chunk:
            fields = {k: data[k] for k in ("name", "origin", "arrival_date", "kind", "phone")}
            worker = existing.get(number)
            if worker is not None:
                if all(getattr(worker, k) == v for k, v in fields.items()):
                    unchanged += 1
                    continue
                for key, value in fields.items():
                    setattr(worker, key, value)
            else:
                worker = Worker(
                    organisation=organisation,
                    jpath=organisation.jpath,
                    document_number=number,
                    registered_at=now,
                    **fields,
                )
            worker.person = people.get(number)
            try:
                # Only arrivals from a risk area reach control (one order each); the origin's
                # risk area is looked up once per distinct origin.
                if worker.order_id is None and measures.area(worker.origin) is None:
                    worker.risk_area, worker.risk_level = None, ""
                elif worker.order_id is None:
                    with transaction.atomic():
                        measures.apply(
                            actor=actor,
                            worker=worker,
                            person=worker.person,
                            organisation=organisation,
                            at=_arrival_start(worker.arrival_date, now),
                        )
            except ResumptionError as exc:
                errors_.reject_one(data["line"], data["values"], "origin", data["origin"], str(exc))
                continue
            (changed if worker.pk else new).append(worker)
        with transaction.atomic():
            Worker.objects.bulk_create(new)
            Worker.objects.bulk_update(
                changed,
                [
                    "name",
                    "origin",
                    "arrival_date",
                    "kind",
                    "phone",
                    "person",
                    "risk_area",
                    "risk_level",
                    "order",
                ],
            )
        created += len(new)
        updated += len(changed)
        imports.job_progress(
            job,
            total=table.read,
            created=created,
            updated=updated,
            unchanged=unchanged,
            rejected=errors_.count,
        )
    if created or updated:
        audit_record(
            actor=actor,
            action=Action.IMPORT,
            obj=organisation,
            object_repr=job.filename,
            jurisdiction_path=organisation.jpath or operator_or_actor_path(actor) or "",
            changes={"workers_created": created, "workers_updated": updated},
        )
    return imports.job_finish(
        job,
        header=table.header,
        columns=table.columns,
        errors=errors_,
        total=table.read,
        created=created,
        updated=updated,
        unchanged=unchanged,
    )
