"""Frequency and rotation: when an area is tested next, and areas spread over days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import paths
from fangkong.geo.models import Jurisdiction
from fangkong.people.models import Person

from ..models import RotationSlot, Round
from .base import TestingError


@dataclass
class Proposal:
    next_on: dt.date | None  # None: stop testing this area
    interval_days: int | None
    reason: str


def frequency_next(
    *, history: list[tuple[dt.date, int]], last_case_on: dt.date | None, today: dt.date
) -> Proposal:
    """The next round for an area from its past rounds [(day, positives)], oldest first.

    Daily where the last three rounds all found cases; every other day where a case occurred in
    the last 14 days; every 5 days otherwise; stop after three clean rounds and one more three days
    after the third."""
    rounds = sorted(history)
    proposal = _frequency(rounds, last_case_on, today)
    if proposal.next_on is not None and proposal.next_on < today:
        # Overdue already: the next round is today.
        proposal.next_on = today
    return proposal


def _frequency(rounds, last_case_on, today) -> Proposal:
    last = rounds[-1][0] if rounds else today
    clean_tail = 0
    for _day, positives in reversed(rounds):
        if positives:
            break
        clean_tail += 1
    if clean_tail >= 4 and (rounds[-1][0] - rounds[-2][0]).days >= 3:
        return Proposal(None, None, "stop: three clean rounds and a last one three days later")
    if clean_tail >= 3:
        return Proposal(
            rounds[-1 - (clean_tail - 3)][0] + dt.timedelta(days=3),
            3,
            "three clean rounds: one more three days later, then stop",
        )
    if len(rounds) >= 3 and all(positives for _day, positives in rounds[-3:]):
        return Proposal(last + dt.timedelta(days=1), 1, "daily: the last three rounds found cases")
    if last_case_on is not None and (today - last_case_on).days <= 14:
        return Proposal(last + dt.timedelta(days=2), 2, "every other day: cases within 14 days")
    return Proposal(last + dt.timedelta(days=5), 5, "every 5 days")


def frequency_propose(*, node: Jurisdiction, today: dt.date | None = None) -> Proposal:
    """Apply the rule to the rounds that covered `node`, counting positives found inside it."""
    from ..models import PositiveFinding, TemporaryControl

    today = today or timezone.localdate()
    ancestors = paths.ancestors(node.path)
    rounds = Round.objects.filter(
        Q(scope_nodes__path__in=ancestors) | Q(scope_nodes__path__startswith=node.path)
    ).distinct()
    inside = {"round__in": rounds, "jpath__startswith": node.path}
    findings = dict(
        PositiveFinding.objects.filter(**inside)
        .values("round")
        .annotate(n=Count("id"))
        .values_list("round", "n")
    )
    pools = dict(
        TemporaryControl.objects.filter(**inside)
        .values("round")
        .annotate(n=Count("tube", distinct=True))
        .values_list("round", "n")
    )
    history = [
        (
            timezone.localtime(r.starts_at or r.created_at).date(),
            findings.get(r.pk, 0) + pools.get(r.pk, 0),
        )
        for r in rounds
    ]
    last_case = (
        PositiveFinding.objects.filter(jpath__startswith=node.path)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return frequency_next(
        history=history,
        last_case_on=timezone.localtime(last_case).date() if last_case else None,
        today=today,
    )


def rotation_plan(
    *, actor, round_: Round, nodes: list[Jurisdiction], first_day: dt.date, days: int
) -> list[RotationSlot]:
    """区域轮流: spread the areas over `days` days with about the same number of people each day."""
    if days < 1:
        raise TestingError(_("a rotation needs at least one day"))
    sizes = {n.pk: Person.objects.filter(jpath__startswith=n.path).count() for n in nodes}
    load = [0] * days
    slots = []
    for node in sorted(nodes, key=lambda n: (-sizes[n.pk], n.path)):
        day = min(range(days), key=lambda d: (load[d], d))
        load[day] += sizes[node.pk]
        slots.append(
            RotationSlot(round=round_, jurisdiction=node, day=first_day + dt.timedelta(days=day))
        )
    with transaction.atomic():
        RotationSlot.objects.filter(round=round_).delete()
        RotationSlot.objects.bulk_create(slots)
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=round_,
            jurisdiction_path=min(n.path for n in nodes),
            changes={
                "rotation": {
                    n.code: str(s.day)
                    for n, s in zip([s.jurisdiction for s in slots], slots, strict=True)
                }
            },
        )
    return sorted(slots, key=lambda s: (s.day, s.jurisdiction.path))
