"""Factories and small helpers for the testing app's tests: rounds, sites, labs, CSV files."""

import csv

import factory

from fangkong.testing.models import Lab, Round, RoundScope, Site


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    code = factory.Sequence(lambda n: f"S{n:04d}")
    name = factory.Sequence(lambda n: f"采样点{n}")
    jpath = factory.LazyAttribute(lambda o: o.jurisdiction.path)
    desks = 2
    samplers = 4


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lab

    code = factory.Sequence(lambda n: f"L{n:03d}")
    name = factory.Sequence(lambda n: f"检测机构{n}")
    jpath = factory.LazyAttribute(lambda o: o.jurisdiction.path)
    daily_capacity = 10000


def make_round(code: str, *nodes, pool_size: int = 10, **kwargs) -> Round:
    round_ = Round.objects.create(code=code, name=f"第{code}轮", pool_size=pool_size, **kwargs)
    for node in nodes:
        RoundScope.objects.create(round=round_, jurisdiction=node, path=node.path)
    return round_


def write_csv(path, header: list[str], rows: list[list]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def read_status(path) -> dict[str, str]:
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id_number", "status"]
    return dict(rows[1:])
