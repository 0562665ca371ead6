"""Factories for jurisdictions, buildings and households."""

import factory

from fangkong.geo.models import Building, Household, Jurisdiction
from fangkong.geo.services import child_path


class JurisdictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Jurisdiction

    code = factory.Sequence(lambda n: f"9{n:05d}")
    level = "city"
    name = factory.Sequence(lambda n: f"节点{n}")
    parent = None
    path = factory.LazyAttribute(lambda o: child_path(o.parent, o.code))
    depth = factory.LazyAttribute(lambda o: o.parent.depth + 1 if o.parent else 0)


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    grid = factory.SubFactory(JurisdictionFactory, level="grid")
    code = factory.Sequence(lambda n: f"B{n:08d}")
    name = factory.Sequence(lambda n: f"{n}号楼")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    building = factory.SubFactory(BuildingFactory)
    grid = factory.SelfAttribute("building.grid")
    code = factory.Sequence(lambda n: f"H{n:010d}")
    room = factory.Sequence(lambda n: f"{n % 30 + 1:02d}01")
