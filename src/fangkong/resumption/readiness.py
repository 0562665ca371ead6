"""Reserves against targets ("宁可备而不用、不可用而无备"): one node's testing capacity, isolation
rooms, cabin-hospital and designated beds and supplies' days of cover against the policy's
targets, each gap with the working group that owns it and a task dispatched from it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from operator import attrgetter

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fangkong.accounts.roles import WorkingGroup
from fangkong.care.models import Bed, Facility
from fangkong.command import roles as command_roles
from fangkong.command import services as command
from fangkong.command.models import Priority, Task, Unit
from fangkong.command.selectors import task_list
from fangkong.common import errors, paths
from fangkong.common.scope import path_within, require
from fangkong.control.selectors import reserve as room_reserve
from fangkong.geo.models import Jurisdiction
from fangkong.supplies.selectors import cover_table
from fangkong.testing.services import plan_round

from . import roles

# Targets the national plans do not fix in numbers are local settings (README, "Settings").
SECTIONS = {
    WorkingGroup.TESTING: gettext_lazy("Testing: a round of everyone in 24 hours"),
    WorkingGroup.ISOLATION: gettext_lazy("Isolation rooms"),
    WorkingGroup.TREATMENT: gettext_lazy("Beds"),
    WorkingGroup.SUPPLIES: gettext_lazy("Supplies: days of cover"),
}


def setting(name: str):
    return attrgetter(name)(settings)  # every target has its default in config/settings/base.py


class ReadinessError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Conflict(ReadinessError, errors.Conflict):
    pass


@dataclass
class Line:
    key: str  # stable: what a dispatch names
    group: str  # the working group that owns it (WorkingGroup)
    label: str
    need: float
    have: float
    short: float
    measure: str  # what need and have count
    basis: str  # how the need is computed
    owner: Unit | None = None
    task: Task | None = None  # an active task already dispatched for this gap

    @property
    def met(self) -> bool:
        return self.short <= 0

    @property
    def owner_name(self) -> str:
        return self.owner.name if self.owner else ""

    @property
    def percent(self) -> int | None:
        return round(self.have * 100 / self.need) if self.need else None


def _per_10k(residents: int, rate: float) -> int:
    return math.ceil(residents * rate / 10000)


def _testing(node: Jurisdiction) -> list[Line]:
    rows = plan_round(node=node, hours=24, pool_size=10)

    def total(attr):
        return sum(getattr(r, attr) for r in rows)

    def short(key):
        # Per district: one district's surplus does not fill another's shortage.
        return sum(r.shortfall[key] for r in rows)

    population = total("population")
    basis = _("%(people)s people in 24 hours") % {"people": f"{population:,}"}
    retests = total("retests")
    return [
        Line(
            "testing.points",
            WorkingGroup.TESTING,
            _("Sampling points"),
            total("points_min"),
            total("have_points"),
            short("points"),
            _("points"),
            basis + _(", one per 3,000 people"),
        ),
        Line(
            "testing.desks",
            WorkingGroup.TESTING,
            _("Sampling desks"),
            total("desks_min"),
            total("have_desks"),
            short("desks"),
            _("desks"),
            basis + _(", one per 800 people"),
        ),
        Line(
            "testing.samplers",
            WorkingGroup.TESTING,
            _("Samplers"),
            total("samplers"),
            total("have_samplers"),
            short("samplers"),
            _("samplers"),
            basis + _(", population ÷ 360"),
        ),
        Line(
            "testing.lab",
            WorkingGroup.TESTING,
            _("Lab tests per day"),
            total("lab_per_day"),
            total("have_lab_per_day"),
            short("lab_per_day"),
            _("tests"),
            basis
            + _(", 10:1 pools and %(retests)s expected re-tests of positive pools")
            % {"retests": f"{retests:,}"},
        ),
    ]


def _rooms(node: Jurisdiction) -> tuple[list[Line], int]:
    reserve = room_reserve(node=node)
    need = _per_10k(reserve["residents"], float(reserve["target"]))
    return [
        Line(
            "isolation.rooms",
            WorkingGroup.ISOLATION,
            _("Isolation rooms"),
            need,
            reserve["rooms"],
            max(0, need - reserve["rooms"]),
            _("rooms"),
            _("%(target)s rooms per 10,000 of %(people)s residents")
            % {"target": reserve["target"], "people": f"{reserve['residents']:,}"},
        )
    ], reserve["residents"]


def _beds(node: Jurisdiction, residents: int) -> list[Line]:
    counts = (
        Bed.objects.filter(facility__jpath__startswith=node.path, facility__active=True)
        .exclude(state=Bed.State.OUT_OF_SERVICE)
        .aggregate(
            cabin=Count("id", filter=Q(facility__kind=Facility.Kind.FANGCANG)),
            designated=Count("id", filter=Q(facility__kind=Facility.Kind.DESIGNATED)),
        )
    )
    lines = []
    for key, label, rate_setting in (
        (
            "designated",
            _("Designated-hospital beds"),
            "FANGKONG_READINESS_DESIGNATED_BEDS_PER_10K",
        ),
        ("cabin", _("Cabin-hospital beds"), "FANGKONG_READINESS_CABIN_BEDS_PER_10K"),
    ):
        rate = float(setting(rate_setting))
        need = _per_10k(residents, rate)
        lines.append(
            Line(
                f"beds.{key}",
                WorkingGroup.TREATMENT,
                label,
                need,
                counts[key],
                max(0, need - counts[key]),
                _("beds"),
                _("%(rate)s beds per 10,000 of %(people)s residents")
                % {"rate": f"{rate:g}", "people": f"{residents:,}"},
            )
        )
    return lines


def _supplies(node: Jurisdiction, today: dt.date) -> list[Line]:
    target = float(setting("FANGKONG_READINESS_COVER_DAYS"))
    lines = []
    for row in cover_table(actor=None, node=node, today=today)["total"]:
        if row["days_of_cover"] is None:
            continue  # nothing used in the last week: the stock lasts
        lines.append(
            Line(
                f"supplies.{row['item_code']}",
                WorkingGroup.SUPPLIES,
                row["item_name"],
                target,
                row["days_of_cover"],
                round(max(0.0, target - row["days_of_cover"]), 1),
                _("days"),
                _("%(days)s days of cover at %(use)s %(unit)s a day: %(more)s %(unit)s more")
                % {
                    "days": f"{target:g}",
                    "use": f"{row['daily_use']:,}",
                    "unit": row["unit"],
                    "more": f"{max(0, math.ceil(target * row['daily_use'] - row['stock'])):,}",
                },
            )
        )
    return lines


def _owners(node: Jurisdiction) -> dict[str, Unit]:
    """The nearest working group of each kind at the node or above it."""
    owners: dict[str, Unit] = {}
    for unit in Unit.objects.filter(
        kind=Unit.Kind.WORKING_GROUP, path__in=paths.ancestors(node.path)
    ).order_by("-path"):
        owners.setdefault(unit.working_group, unit)
    return owners


def task_title(node: Jurisdiction, line: Line) -> str:
    return _("Readiness gap: %(what)s in %(node)s") % {"what": line.label, "node": node.name}


def readiness(*, actor, node: Jurisdiction, today: dt.date | None = None) -> dict:
    """Every line of the node's readiness, gaps first within each section."""
    require(actor, roles.can_read_readiness)
    if actor is not None and not path_within(actor, node.path):
        raise errors.NotFound()
    today = today or timezone.localdate()
    rooms, residents = _rooms(node)
    lines = [*_testing(node), *rooms, *_beds(node, residents), *_supplies(node, today)]
    owners = _owners(node)
    titles = {task_title(node, line): line for line in lines}
    tasks = Task.objects.all() if actor is None else task_list(actor=actor)
    open_tasks = tasks.filter(title__in=list(titles), state__in=Task.ACTIVE).order_by("-id")
    for task in open_tasks:
        line = titles[task.title]
        if line.task is None:
            line.task = task
    for line in lines:
        line.owner = owners.get(line.group)
    sections = [
        {
            "group": group,
            "label": label,
            "lines": [line for line in lines if line.group == group],
        }
        for group, label in SECTIONS.items()
    ]
    gaps = [line for line in lines if not line.met]
    return {"node": node, "sections": sections, "lines": lines, "gaps": gaps, "today": today}


def gap_dispatch(*, actor, node: Jurisdiction, key: str) -> Task:
    """A task for the gap `key` of the node, to the working group that owns it (or to the node's
    own command when that group sits above the actor), prefilled from today's figures."""
    require(actor, command_roles.can_dispatch)
    state = readiness(actor=actor, node=node)
    line = next((line for line in state["lines"] if line.key == key), None)
    if line is None:
        raise errors.NotFound(_("No such readiness line."))
    if line.met:
        raise Conflict(_("That target is met: nothing to dispatch."), code="no_gap")
    if line.task is not None:
        raise Conflict(
            _("A task for this gap is open already (#%(id)s).") % {"id": line.task.pk},
            code="task_open",
        )
    unit = line.owner if line.owner and path_within(actor, line.owner.path) else None
    hours = int(setting("FANGKONG_READINESS_TASK_HOURS"))
    description = _(
        "%(what)s: %(have)s of %(need)s %(measure)s, short by %(short)s (%(basis)s). "
        "Owner: %(owner)s. Close the gap and report back."
    ) % {
        "what": line.label,
        "have": f"{line.have:,}",
        "need": f"{line.need:,}",
        "measure": line.measure,
        "short": f"{line.short:,}",
        "basis": line.basis,
        "owner": line.owner_name or node.name,
    }
    with transaction.atomic():
        return command.task_dispatch(
            actor=actor,
            title=task_title(node, line),
            deadline=timezone.now() + dt.timedelta(hours=hours),
            description=description,
            priority=Priority.HIGH,
            unit=unit,
            node=None if unit is not None else node,
        )
