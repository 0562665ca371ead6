"""Writes of the vaccination module: sites, a dose recorded at a site, AEFI reports and follow-up."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import errors, events
from fangkong.common.alerts import alert_raise
from fangkong.common.scope import path_within, require
from fangkong.geo.models import Jurisdiction
from fangkong.people.models import Person

from . import coverage, roles, schedule
from .models import Aefi, AefiFollowUp, Dose, Lot, Product, Site


class VaccinationError(errors.DomainError):
    pass


class Invalid(VaccinationError, errors.Invalid):
    pass


class Conflict(VaccinationError, errors.Conflict):
    pass


def site_create(
    *,
    actor,
    code: str,
    name: str,
    jurisdiction: Jurisdiction,
    address: str = "",
    daily_capacity: int = 0,
) -> Site:
    require(actor, roles.can_manage_sites)
    if actor is not None and not path_within(actor, jurisdiction.path):
        raise errors.NotFound()
    code = code.strip().upper()
    if not code or not name.strip():
        raise Invalid(_("A site needs a code and a name."), code="site_incomplete")
    if Site.objects.filter(code=code).exists():
        raise Conflict(_("A site with this code exists."), code="site_exists")
    with transaction.atomic():
        site = Site.objects.create(
            code=code,
            name=name.strip(),
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            address=address.strip(),
            daily_capacity=daily_capacity,
        )
        audit_created(actor=actor, obj=site, fields={"code": code, "name": site.name})
    return site


def person_doses(person: Person) -> list[Dose]:
    return list(
        Dose.objects.filter(person=person).select_related("product", "lot").order_by("dose_number")
    )


def dose_record(
    *,
    actor,
    person: Person,
    product: Product,
    lot: str,
    site: Site,
    given_at: dt.datetime | None = None,
) -> Dose:
    """Record the person's next dose at a site: the dose number follows the doses on file, the
    course follows the first dose's product (same kind for its doses), and a dose before the
    schedule allows (the minimum interval, or the booster's six months) is refused."""
    require(actor, roles.can_record_dose)
    if actor is not None and not path_within(actor, site.jpath):
        raise errors.NotFound()
    if not product.active:
        raise Invalid(_("This product is no longer in use."), code="product_inactive")
    lot = lot.strip()
    if not lot or len(lot) > Lot._meta.get_field("code").max_length:
        raise Invalid(_("The lot number is missing or too long."), code="lot_invalid")
    given_at = given_at or timezone.now()
    if given_at > timezone.now() + dt.timedelta(hours=1):
        raise Invalid(_("The time of the dose lies in the future."), code="dose_in_future")
    with transaction.atomic():
        # One dose at a time per person: two desks recording the same person wait for each other.
        Person.objects.select_for_update().filter(pk=person.pk).first()
        given = person_doses(person)
        n = given[-1].dose_number if given else 0
        course = given[0].product if given else product
        plan = schedule.Schedule.of(course)
        day = timezone.localtime(given_at).date()
        age = schedule.age_on(person.birth_date, day)
        if age < 3:
            raise Invalid(_("Children under 3 are not vaccinated."), code="too_young")
        if given and n < course.primary_doses and product.kind != course.kind:
            raise Invalid(
                _("The course began with %(product)s: its doses must be of the same kind.")
                % {"product": course.name},
                code="course_product_mismatch",
            )
        if given:
            last = timezone.localtime(given[-1].given_at).date()
            step = schedule.next_dose(plan, doses=n, last=last, age=age)
            if step is None:
                raise Conflict(
                    _("The course and the boosters for this age are complete."),
                    code="course_complete",
                )
            if day < step.due_from:
                raise Invalid(
                    _("Dose %(n)s is due from %(day)s.")
                    % {"n": step.dose_number, "day": step.due_from.isoformat()},
                    code="too_early",
                )
        lot_row, _created = Lot.objects.get_or_create(product=product, code=lot)
        try:
            with transaction.atomic():
                dose = Dose.objects.create(
                    person=person,
                    product=product,
                    lot=lot_row,
                    dose_number=n + 1,
                    site=site,
                    given_at=given_at,
                    source=Dose.Source.SITE,
                    recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
        except IntegrityError as exc:
            raise Conflict(code="dose_exists") from exc
        coverage.count_dose(person=person, doses_before=n, primary_doses=plan.primary_doses)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=dose,
            jurisdiction_path=person.jpath,
            changes={
                "person": person.pk,
                "product": product.code,
                "lot": lot,
                "dose_number": n + 1,
                "site": site.code,
            },
        )
        events.publish("vaccination.dose_recorded", dose=dose)
    return dose


def aefi_report(
    *,
    actor,
    dose: Dose,
    onset_at: dt.datetime,
    symptoms: str,
    severity: str,
) -> Aefi:
    """Report an adverse event after a dose; a serious one raises an alert for the district."""
    require(actor, roles.can_report_aefi)
    person = dose.person
    if actor is not None and not path_within(actor, person.jpath):
        raise errors.NotFound()
    if severity not in Aefi.Severity.values:
        raise Invalid(fields={"severity": [_("not a severity")]})
    symptoms = symptoms.strip()
    if not symptoms:
        raise Invalid(fields={"symptoms": [_("describe the symptoms")]})
    if onset_at < dose.given_at:
        raise Invalid(_("The onset precedes the dose."), code="onset_before_dose")
    if onset_at > timezone.now() + dt.timedelta(hours=1):
        raise Invalid(_("The onset lies in the future."), code="onset_in_future")
    with transaction.atomic():
        aefi = Aefi.objects.create(
            person=person,
            dose=dose,
            jpath=person.jpath,
            onset_at=onset_at,
            symptoms=symptoms[:500],
            severity=severity,
            reported_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        AefiFollowUp.objects.create(
            aefi=aefi,
            status=Aefi.Status.REPORTED,
            note=_("Reported"),
            by=aefi.reported_by,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=aefi,
            jurisdiction_path=person.jpath,
            changes={"dose": dose.pk, "severity": severity},
        )
        if severity == Aefi.Severity.SERIOUS:
            alert_raise(
                kind="vaccination_aefi_serious",
                title=str(gettext_lazy("Serious adverse event after vaccination")),
                jurisdiction_path=person.jpath,
                obj=aefi,
                dedupe_key=f"aefi:{aefi.pk}",
            )
        events.publish("vaccination.aefi_reported", aefi=aefi)
    return aefi


# The follow-up flow: reported → under investigation → recovered → closed (closing from any).
FOLLOW_UP = {
    Aefi.Status.REPORTED: {Aefi.Status.INVESTIGATING, Aefi.Status.RECOVERED, Aefi.Status.CLOSED},
    Aefi.Status.INVESTIGATING: {
        Aefi.Status.INVESTIGATING,
        Aefi.Status.RECOVERED,
        Aefi.Status.CLOSED,
    },
    Aefi.Status.RECOVERED: {Aefi.Status.CLOSED},
    Aefi.Status.CLOSED: set(),
}


def aefi_follow_up(*, actor, aefi: Aefi, status: str, note: str) -> AefiFollowUp:
    require(actor, roles.can_report_aefi)
    if actor is not None and not path_within(actor, aefi.jpath):
        raise errors.NotFound()
    note = note.strip()
    if not note:
        raise Invalid(fields={"note": [_("say what was found or done")]})
    with transaction.atomic():
        locked = Aefi.objects.select_for_update().get(pk=aefi.pk)
        if status not in FOLLOW_UP.get(locked.status, set()):
            raise Conflict(
                _("A case that is %(status)s cannot move to that state.")
                % {"status": locked.get_status_display()},
                code="aefi_state",
            )
        before = locked.status
        locked.status = status
        locked.save(update_fields=["status"])
        step = AefiFollowUp.objects.create(
            aefi=locked,
            status=status,
            note=note[:500],
            by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=locked,
            jurisdiction_path=locked.jpath,
            changes={"status": [before, status]},
        )
    aefi.status = status
    return step


def next_dose_number(person: Person) -> int:
    return (Dose.objects.filter(person=person).aggregate(n=Max("dose_number"))["n"] or 0) + 1
