"""Reads of the population registry, always within the actor's subtree."""

import datetime as dt

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from fangkong.accounts.roles import can_see_pii
from fangkong.common import errors
from fangkong.common.keyset import ByteOrder, subtree_range
from fangkong.common.scope import access, actor_path, scoped

from .models import Person
from .privacy import audit_number_lookup


def _years_ago(years: int, today: dt.date) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def person_list(
    *, actor, filters: dict | None = None, today: dt.date | None = None
) -> QuerySet[Person]:
    filters = filters or {}
    today = today or dt.date.today()
    # The subtree twice: the guard's prefix match, and the same rows as a byte-order range that
    # the keyset index (person_keyset) scans in the list's order.
    qs = scoped(Person.objects.select_related("grid"), actor).filter(
        subtree_range(actor_path(actor))
    )
    q = (filters.get("q") or "").strip()
    if q:
        if is_number_query(q):
            qs = qs.filter(pk__in=number_lookup(actor=actor, qs=qs, number=q))
        else:
            qs = qs.filter(name__startswith=q)
    if filters.get("jurisdiction"):
        from fangkong.geo.selectors import access_jurisdiction

        node = access_jurisdiction(actor, filters["jurisdiction"])
        qs = qs.filter(jpath__startswith=node.path).filter(subtree_range(node.path))
    if filters.get("sex"):
        qs = qs.filter(sex=filters["sex"])
    if filters.get("tag"):
        qs = qs.annotate(tag_bit=F("tags").bitand(int(filters["tag"]))).filter(tag_bit__gt=0)
    # Roles that see only age bands filter by whole bands: min 33, max 33 would pin the age.
    banded = not can_see_pii(actor)
    if filters.get("age_min") not in (None, ""):
        low = int(filters["age_min"])
        low = low // 10 * 10 if banded else low
        qs = qs.filter(birth_date__lte=_years_ago(low, today))
    if filters.get("age_max") not in (None, ""):
        high = int(filters["age_max"])
        high = high // 10 * 10 + 9 if banded else high
        qs = qs.filter(birth_date__gt=_years_ago(high + 1, today))
    return qs.order_by(ByteOrder("jpath").asc(), ByteOrder("name").asc(), "id")


def is_number_query(q: str) -> bool:
    return q.isdigit() or (len(q) == 18 and q[:17].isdigit() and q[17] in "xX")


def number_lookup(*, actor, qs: QuerySet[Person], number: str) -> list[int]:
    """Who, within `qs`, holds this exact ID number or phone: a privileged lookup.

    Any answer to "who has 320102…?" confirms a guess, even an empty list set against a name
    search, so roles that may not see full numbers are refused outright (403), and each lookup
    by a role that may is written to the audit log with the ids it found."""
    if not can_see_pii(actor):
        raise errors.Forbidden(
            _("Your role may not look people up by ID number or phone."), code="forbidden"
        )
    number = number.upper()
    field = "phone" if len(number) == 11 and number.isdigit() else "document_number"
    ids = list(
        qs.filter(Q(document_number=number) | Q(phone=number))
        .order_by("id")
        .values_list("id", flat=True)[:50]
    )
    audit_number_lookup(actor=actor, number=number, field=field, person_ids=ids)
    return ids


def access_person(actor, person_id: int) -> Person:
    return access(Person.objects.select_related("grid", "household__building"), actor, pk=person_id)


def household_members(*, actor, person: Person) -> QuerySet[Person]:
    if person.household_id is None:
        return Person.objects.none()
    return scoped(Person.objects.filter(household_id=person.household_id), actor).order_by(
        "birth_date"
    )


def age(person: Person, today: dt.date | None = None) -> int:
    today = today or dt.date.today()
    born = person.birth_date
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
