"""Factories for persons with valid resident ID numbers."""

import datetime as dt

import factory

from fangkong.people import idnumber
from fangkong.people.models import Person


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    birth_date = factory.Sequence(
        lambda n: dt.date(1950, 1, 1) + dt.timedelta(days=(n * 37) % 25000)
    )
    sex = factory.Sequence(lambda n: "M" if n % 2 else "F")
    # The sequence digit's parity carries the sex, as GB 11643 requires.
    document_number = factory.LazyAttributeSequence(
        lambda o, n: idnumber.make(
            "320102", o.birth_date, (n % 400) * 2 + (1 if o.sex == "M" else 0)
        )
    )
    name = factory.Sequence(lambda n: f"张{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    grid = None
    jpath = factory.LazyAttribute(lambda o: o.grid.path)
