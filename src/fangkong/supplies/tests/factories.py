"""Factories for the supplies tests: warehouses, enterprises, and the catalogue."""

import factory

from fangkong.supplies.models import Enterprise, Item, Warehouse
from fangkong.supplies.services import supply_items_ensure


def items() -> dict[str, Item]:
    supply_items_ensure()
    return {item.code: item for item in Item.objects.all()}


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"W{n:04d}")
    name = factory.Sequence(lambda n: f"仓库{n}")
    kind = Warehouse.Kind.DISTRICT
    jpath = factory.LazyAttribute(lambda o: o.jurisdiction.path)


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    code = factory.Sequence(lambda n: f"E{n:04d}")
    name = factory.Sequence(lambda n: f"企业{n}")
    jpath = factory.LazyAttribute(lambda o: o.jurisdiction.path)
