"""Helpers of the places tests: two districts of one city, each with a community, a grid and
people, and places registered on them."""

from __future__ import annotations

from dataclasses import dataclass, field

from fangkong.accounts.tests.factories import UserFactory
from fangkong.geo.tests.factories import HouseholdFactory, JurisdictionFactory
from fangkong.people.tests.factories import PersonFactory
from fangkong.places import services


@dataclass
class District:
    node: object
    community: object
    grid: object
    people: list = field(default_factory=list)


def district(city, name: str, people: int = 4) -> District:
    node = JurisdictionFactory(level="district", parent=city, name=name)
    street = JurisdictionFactory(level="street", parent=node)
    community = JurisdictionFactory(level="community", parent=street)
    grid = JurisdictionFactory(level="grid", parent=community)
    household = HouseholdFactory(building__grid=grid, grid=grid)
    residents = [PersonFactory(grid=grid, household=household) for _ in range(people)]
    return District(node=node, community=community, grid=grid, people=residents)


def city_of_two():
    city = JurisdictionFactory(level="city", name="南京市")
    return city, district(city, "玄武区"), district(city, "秦淮区")


def make_place(node, name="红山农贸市场", kind="market", **kwargs):
    return services.place_create(
        actor=None, name=name, place_kind=kind, jurisdiction=node, capacity=500, **kwargs
    )


def user(role, node, **kwargs):
    return UserFactory(role=role, jurisdiction=node, **kwargs)
