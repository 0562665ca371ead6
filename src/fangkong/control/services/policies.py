"""Writes of the control module: policy arithmetic and policy versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import paths

from ..models import Category, JurisdictionSetting, Measure, Policy, PolicyStep
from ..presets import DEFAULT_PRESET
from ._common import ControlError


@dataclass(frozen=True)
class Plan:
    steps: list[tuple[int, str, date, date]]  # (seq, measure, first day, last day)
    tests: list[tuple[int, date]]  # (day of the order, date)
    end_date: date

    def measure_on(self, day: date) -> str | None:
        for _seq, measure, first, last in self.steps:
            if first <= day <= last:
                return measure
        return None


def local_day(moment: datetime) -> date:
    """Day 1 of an order: the Asia/Shanghai calendar date of its start, whatever the input zone."""
    if timezone.is_naive(moment):
        raise ControlError(_("The start time needs a time zone."))
    return timezone.localdate(moment)


def plan_compute(start_date: date, steps) -> Plan:
    """Steps follow each other without gaps; a test on day t of a step is day offset+t overall."""
    rows, tests, offset = [], [], 0
    for seq, (measure, days, test_days) in enumerate(steps, start=1):
        first = start_date + timedelta(days=offset)
        rows.append((seq, measure, first, first + timedelta(days=days - 1)))
        tests.extend(
            (offset + t, first + timedelta(days=t - 1))
            for t in sorted(set(test_days))
            if 1 <= t <= days
        )
        offset += days
    return Plan(rows, tests, start_date + timedelta(days=offset - 1))


def policy_rule(policy: Policy, category: str) -> list[tuple[str, int, list[int]]]:
    return [
        (s.measure, s.days, list(s.test_days))
        for s in PolicyStep.objects.filter(policy=policy, category=category).order_by("seq")
    ]


def policy_for(path: str) -> Policy:
    """The policy chosen by the nearest node on the path, else the newest ed. 9."""
    setting = (
        JurisdictionSetting.objects.filter(path__in=paths.ancestors(path), policy__isnull=False)
        .select_related("policy")
        .order_by("-path")
        .first()
    )
    if setting is not None:
        return setting.policy
    policy = Policy.objects.filter(code=DEFAULT_PRESET).order_by("-version").first()
    if policy is None:
        raise ControlError(_("No policy is configured."))
    return policy


def policy_choose(*, actor, jurisdiction, policy: Policy | None = None, reserve_target=None):
    with transaction.atomic():
        setting, _created = JurisdictionSetting.objects.get_or_create(
            jurisdiction=jurisdiction, defaults={"path": jurisdiction.path}
        )
        before = {"policy": setting.policy_id, "reserve_target": setting.reserve_target}
        if policy is not None:
            setting.policy = policy
        if reserve_target is not None:
            setting.reserve_target = reserve_target
        setting.save()
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            object_type="control.jurisdictionsetting",
            object_id=str(setting.pk),
            object_repr=str(jurisdiction),
            jurisdiction_path=jurisdiction.path,
            changes={
                "policy": [before["policy"], setting.policy_id],
                "reserve_target": [before["reserve_target"], setting.reserve_target],
            },
        )
    return setting


def policy_version_create(*, actor, policy: Policy, rules: dict, name: str = "") -> Policy:
    """Edit a policy by copying it into the next version; `rules` replaces those categories."""
    for category, steps in rules.items():
        if category not in Category.values:
            raise ControlError(_("Unknown category: %s") % category)
        for measure, days, test_days in steps:
            if measure not in Measure.values or int(days) < 1:
                raise ControlError(_("Each step needs a known measure and at least one day."))
            if any(not 1 <= int(t) <= int(days) for t in test_days):
                raise ControlError(_("Test days must fall inside their step."))
    with transaction.atomic():
        latest = Policy.objects.filter(code=policy.code).aggregate(v=Max("version"))["v"]
        new = Policy.objects.create(
            code=policy.code, version=latest + 1, name=name or policy.name, preset=False
        )
        copied = {c: policy_rule(policy, c) for c in Category.values if c not in rules}
        copied.update(rules)
        PolicyStep.objects.bulk_create(
            PolicyStep(policy=new, category=c, seq=i, measure=m, days=int(d), test_days=list(t))
            for c, steps in copied.items()
            for i, (m, d, t) in enumerate(steps, start=1)
        )
        audit_created(
            actor=actor,
            obj=new,
            fields={"code": new.code, "version": new.version, "rules": str(rules)},
        )
    return new
