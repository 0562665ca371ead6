"""Reads of the population registry, always within the actor's subtree."""

import datetime as dt

from django.db.models import F, Q, QuerySet

from fangkong.common.scope import access, scoped

from .models import Person


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
    qs = scoped(Person.objects.select_related("grid"), actor)
    q = (filters.get("q") or "").strip()
    if q:
        if q.isdigit() or (len(q) == 18 and q[:17].isdigit()):
            qs = qs.filter(Q(document_number=q.upper()) | Q(phone=q))
        else:
            qs = qs.filter(name__startswith=q)
    if filters.get("jurisdiction"):
        from fangkong.geo.selectors import access_jurisdiction

        qs = qs.filter(jpath__startswith=access_jurisdiction(actor, filters["jurisdiction"]).path)
    if filters.get("sex"):
        qs = qs.filter(sex=filters["sex"])
    if filters.get("tag"):
        qs = qs.annotate(tag_bit=F("tags").bitand(int(filters["tag"]))).filter(tag_bit__gt=0)
    if filters.get("age_min") not in (None, ""):
        qs = qs.filter(birth_date__lte=_years_ago(int(filters["age_min"]), today))
    if filters.get("age_max") not in (None, ""):
        qs = qs.filter(birth_date__gt=_years_ago(int(filters["age_max"]) + 1, today))
    return qs.order_by("jpath", "name", "id")


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
