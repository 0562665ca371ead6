"""Reads of the vaccination module, scoped to the actor's jurisdiction first."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.accounts.roles import can_see_pii
from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import errors, paths
from fangkong.common.masking import age_band, mask_id_number, mask_phone
from fangkong.common.scope import access, actor_path, fetch, scope_q, scoped
from fangkong.geo.models import Jurisdiction, Level
from fangkong.people.models import Person

from . import coverage, schedule
from .models import Aefi, Dose, Product, Site


def product_list() -> QuerySet[Product]:
    return Product.objects.filter(active=True).order_by("code")


def access_product(pk) -> Product:
    return fetch(Product.objects.filter(active=True), pk=pk)


def site_list(*, actor) -> QuerySet[Site]:
    return scoped(Site.objects.all(), actor, "jpath").order_by("code")


def access_site(actor, pk) -> Site:
    return access(Site.objects.all(), actor, "jpath", pk=pk)


def dose_list(*, actor, person: Person | None = None) -> QuerySet[Dose]:
    qs = Dose.objects.filter(scope_q(actor, "person__jpath")).select_related(
        "person__grid", "product", "lot", "site"
    )
    if person is not None:
        qs = qs.filter(person=person)
    return qs


def access_dose(actor, pk) -> Dose:
    return fetch(dose_list(actor=actor), pk=pk)


def access_person(actor, pk) -> Person:
    return access(Person.objects.select_related("grid"), actor, "jpath", pk=pk)


def person_by_number(actor, number: str) -> Person:
    return access(
        Person.objects.select_related("grid"),
        actor,
        "jpath",
        document_number=number.strip().upper(),
    )


def aefi_list(*, actor, status: str | None = None) -> QuerySet[Aefi]:
    qs = scoped(Aefi.objects.all(), actor, "jpath").select_related(
        "person__grid", "dose__product", "dose__lot"
    )
    return qs.filter(status=status) if status else qs


def access_aefi(actor, pk) -> Aefi:
    return fetch(aefi_list(actor=actor), pk=pk)


def access_node(actor, code: str) -> Jurisdiction:
    """The jurisdiction with this code inside the actor's subtree; 404 outside it and unknown
    alike, so a code never tells whether a node exists elsewhere."""
    if actor_path(actor) is None:
        raise errors.NotFound()
    return access(Jurisdiction.objects.all(), actor, "path", code=(code or "").strip())


def breadcrumbs(actor, node: Jurisdiction) -> QuerySet[Jurisdiction]:
    """The ancestors of `node` the actor may open (their own node and below), top first."""
    return scoped(
        Jurisdiction.objects.filter(path__in=paths.ancestors(node.path)[:-1]), actor, "path"
    ).order_by("depth")


def node_for(actor, code: str | None) -> Jurisdiction:
    """The node named by `code` inside the actor's subtree (404 outside), else the actor's own."""
    prefix = actor_path(actor)
    if prefix is None:
        raise errors.NotFound()
    if code:
        return access_node(actor, code)
    node = getattr(actor, "jurisdiction", None)
    if node is not None:
        return node
    top = Jurisdiction.objects.order_by("depth", "path").first()
    if top is None:
        raise errors.NotFound()
    return top


def coverage_of(*, actor, node: Jurisdiction) -> dict:
    """Coverage of `node` (already fetched through node_for) by band, elderly and children."""
    return {"node": node, **coverage.read(path=node.path, node=node)}


def grid_for(actor, code: str | None) -> Jurisdiction:
    """The grid a list is for: named by code inside the actor's subtree, or the actor's own."""
    node = node_for(actor, code)
    if node.level != Level.GRID:
        raise errors.Invalid(
            _("Choose a grid: the lists are worked grid by grid."), code="grid_required"
        )
    return node


def _eligible_cutoff(today: dt.date) -> dt.date:
    return dict(schedule.band_cutoffs(today))[0]  # born on or before: 3 or older


def unvaccinated_list(*, actor, grid: Jurisdiction, today: dt.date | None = None):
    """People of the grid aged 3 and over without any dose, the oldest first."""
    today = today or timezone.localdate()
    return (
        scoped(Person.objects.filter(grid=grid), actor, "jpath")
        .filter(birth_date__lte=_eligible_cutoff(today))
        .filter(~Exists(Dose.objects.filter(person=OuterRef("pk"))))
        .select_related("grid")
        .order_by("birth_date", "id")
    )


def overdue_list(*, actor, grid: Jurisdiction, today: dt.date | None = None) -> list[dict]:
    """People of the grid whose next dose is overdue: a dose of the course past its maximum
    interval, a booster six months after the full course, a second booster for the elderly.
    The elderly first, then by how long they have waited. Two queries for the whole grid."""
    today = today or timezone.localdate()
    people = {
        p.pk: p
        for p in scoped(Person.objects.filter(grid=grid), actor, "jpath").select_related("grid")
    }
    doses: dict[int, list[Dose]] = {}
    for dose in (
        Dose.objects.filter(person_id__in=list(people))
        .select_related("product")
        .order_by("person_id", "dose_number")
    ):
        doses.setdefault(dose.person_id, []).append(dose)
    out = []
    for pk, given in doses.items():
        person = people[pk]
        course = given[0].product
        age = schedule.age_on(person.birth_date, today)
        last = timezone.localtime(given[-1].given_at).date()
        step = schedule.next_dose(
            schedule.Schedule.of(course), doses=given[-1].dose_number, last=last, age=age
        )
        if step is None or not step.overdue(today):
            continue
        since = step.overdue_after or step.due_from
        out.append(
            {
                "person": person,
                "age": age,
                "doses": given[-1].dose_number,
                "product": course,
                "last_at": given[-1].given_at,
                "next_dose": step.dose_number,
                "kind": step.kind,
                "due_from": step.due_from,
                "overdue_after": step.overdue_after,
                "days_overdue": (today - since).days,
            }
        )
    out.sort(key=lambda r: (-(r["age"] >= 60), -r["age"] // 10, -r["days_overdue"], r["person"].pk))
    return out


def person_row(actor, person: Person, today: dt.date | None = None) -> dict:
    """A person as a list shows them: ID number and phone in full only for roles that may see
    personal data, and then the birth date; otherwise masked with the age band."""
    today = today or timezone.localdate()
    age = schedule.age_on(person.birth_date, today)
    full = can_see_pii(actor)
    return {
        "id": person.pk,
        "name": person.name,
        "document_number": person.document_number
        if full
        else mask_id_number(person.document_number),
        "phone": person.phone if full else mask_phone(person.phone),
        "age": age if full else None,
        "age_band": age_band(age),
        "grid_code": person.grid.code,
        "address": person.address,
    }


def audit_list_view(*, actor, grid: Jurisdiction, kind: str, person_ids: list[int]) -> None:
    """A list shown unmasked is a view of personal data: one audit entry per page."""
    if person_ids and can_see_pii(actor):
        audit_record(
            actor=actor,
            action=Action.VIEW_PII,
            object_type="geo.jurisdiction",
            object_id=str(grid.pk),
            object_repr=f"vaccination {kind} list {grid.code}",
            jurisdiction_path=grid.path,
            changes={
                "fields": ["document_number", "phone", "birth_date"],
                "people": person_ids[:200],
                "rows": len(person_ids),
            },
        )
