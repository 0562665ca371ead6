"""Writes of the control module: control orders, their tests and their release."""

from __future__ import annotations

from datetime import date, datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_created, audit_fields, audit_record
from fangkong.common import events
from fangkong.common.alerts import alert_raise
from fangkong.common.models import Alert
from fangkong.common.scope import require

from .. import roles
from ..models import Category, ControlOrder, ControlTest, OrderStep, Policy
from ._common import Conflict, ControlError
from .policies import Plan, local_day, plan_compute, policy_for, policy_rule
from .rooms import _check_out


def _plan_rows(order_id: int, plan: Plan):
    steps = [
        OrderStep(order_id=order_id, seq=seq, measure=m, start_date=a, end_date=b)
        for seq, m, a, b in plan.steps
    ]
    tests = [ControlTest(order_id=order_id, day=d, scheduled_date=when) for d, when in plan.tests]
    return steps, tests


def control_order_request(*, actor, person, **fields) -> ControlOrder:
    """A user's own order for a person (the API's): the user's role decides. The modules that open
    an order as the consequence of their own step (a lead, an arrival, an admission) call
    control_order_open under their own rule."""
    require(actor, roles.can_manage_orders)
    return control_order_open(actor=actor, person=person, **fields)


def control_order_open(
    *,
    actor,
    person,
    category: str,
    start: datetime,
    reason: str = "",
    source: str = "",
    policy: Policy | None = None,
) -> ControlOrder:
    if category not in Category.values:
        raise ControlError(_("Unknown category: %s") % category)
    start_date = local_day(start)
    policy = policy or policy_for(person.jpath)
    rule = policy_rule(policy, category)
    if not rule:
        raise ControlError(
            _("%(policy)s does not put this category under control.") % {"policy": policy},
            code="category_not_controlled",
        )
    plan = plan_compute(start_date, rule)
    today = timezone.localdate()
    with transaction.atomic():
        if ControlOrder.objects.filter(person=person, status=ControlOrder.Status.OPEN).exists():
            raise Conflict(
                _("%s already has an open control order.") % person.name, code="order_open"
            )
        order = ControlOrder.objects.create(
            person=person,
            jpath=person.jpath,
            category=category,
            policy=policy,
            start=start,
            start_date=start_date,
            end_date=plan.end_date,
            measure=plan.measure_on(max(today, start_date)) or plan.steps[-1][1],
            reason=reason,
            source=source,
        )
        steps, tests = _plan_rows(order.pk, plan)
        OrderStep.objects.bulk_create(steps)
        ControlTest.objects.bulk_create(tests)
        audit_created(
            actor=actor,
            obj=order,
            fields={
                "person": person.pk,
                "category": category,
                "policy": str(policy),
                "start_date": start_date.isoformat(),
                "end_date": plan.end_date.isoformat(),
            },
        )
        events.publish("control.order_opened", order_id=order.pk, person_id=person.pk)
    return order


def control_orders_advance(*, day: date | None = None) -> int:
    """Step every open order down to the measure its steps give for `day` (one UPDATE)."""
    day = day or timezone.localdate()
    sql = """
        UPDATE control_controlorder SET measure = (
            SELECT s.measure FROM control_orderstep s
            WHERE s.order_id = control_controlorder.id AND s.start_date <= %s AND s.end_date >= %s)
        WHERE status = 'open' AND start_date <= %s AND end_date >= %s AND measure <> (
            SELECT s.measure FROM control_orderstep s
            WHERE s.order_id = control_controlorder.id AND s.start_date <= %s AND s.end_date >= %s)
    """
    d = connection.ops.adapt_datefield_value(day)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [d] * 6)
        return cursor.rowcount


def control_orders_migrate(
    *, actor, category: str, from_version: Policy, to_version: Policy
) -> int:
    """Move every open order of a category to another policy version; dates and tests follow."""
    if from_version.code != to_version.code:
        raise ControlError(_("Both versions must belong to the same policy."))
    rule = policy_rule(to_version, category)
    if not rule:
        raise ControlError(_("The new version has no rule for this category."))
    today = timezone.localdate()
    with transaction.atomic():
        orders = list(
            ControlOrder.objects.select_for_update()
            .filter(status=ControlOrder.Status.OPEN, category=category, policy=from_version)
            .values_list("id", "start_date", "end_date", "jpath")
        )
        if not orders:
            return 0
        ids = [o[0] for o in orders]
        plans = {}
        for start_date in {o[1] for o in orders}:
            plans[start_date] = plan_compute(start_date, rule)
        kept = set(
            ControlTest.objects.filter(order_id__in=ids)
            .exclude(result=ControlTest.Result.PENDING)
            .values_list("order_id", "day")
        )
        OrderStep.objects.filter(order_id__in=ids).delete()
        ControlTest.objects.filter(order_id__in=ids, result=ControlTest.Result.PENDING).delete()
        steps, tests, updated, audits = [], [], [], []
        who = audit_fields(actor)
        for order_id, start_date, old_end, jpath in orders:
            plan = plans[start_date]
            s, t = _plan_rows(order_id, plan)
            steps += s
            tests += [x for x in t if (order_id, x.day) not in kept]
            updated.append(
                ControlOrder(
                    pk=order_id,
                    policy_id=to_version.pk,
                    end_date=plan.end_date,
                    measure=plan.measure_on(max(today, start_date)) or plan.steps[-1][1],
                )
            )
            audits.append(
                AuditEntry(
                    **who,
                    action=Action.UPDATE,
                    object_type="control.controlorder",
                    object_id=str(order_id),
                    object_repr=f"control order #{order_id}",
                    jurisdiction_path=jpath,
                    changes={
                        "policy": [str(from_version), str(to_version)],
                        "end_date": [old_end.isoformat(), plan.end_date.isoformat()],
                    },
                )
            )
        OrderStep.objects.bulk_create(steps, batch_size=2000)
        ControlTest.objects.bulk_create(tests, batch_size=2000)
        ControlOrder.objects.bulk_update(
            updated, ["policy", "end_date", "measure"], batch_size=1000
        )
        AuditEntry.objects.bulk_create(audits, batch_size=2000)
    return len(orders)


def control_test_record(*, actor, test: ControlTest, result: str) -> ControlTest:
    if result not in (ControlTest.Result.NEGATIVE, ControlTest.Result.POSITIVE):
        raise ControlError(_("A result is negative or positive."))
    with transaction.atomic():
        before = test.result
        test.result = result
        test.resulted_at = timezone.now()
        test.save(update_fields=["result", "resulted_at"])
        order = test.order
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=test,
            jurisdiction_path=order.jpath,
            changes={"result": [before, result]},
        )
        if result == ControlTest.Result.POSITIVE:
            alert_raise(
                kind="control_positive",
                level=Alert.Level.CRITICAL,
                title=_("Positive test of a person under control: %s") % order.person.name,
                jurisdiction_path=order.jpath,
                obj=order,
                dedupe_key=f"control:{order.pk}:test{test.day}:positive",
            )
            events.publish("control.test_positive", order_id=order.pk, person_id=order.person_id)
    return test


def release_blockers(order: ControlOrder, today: date | None = None) -> list[str]:
    """Why the order cannot be released yet; empty when the policy's conditions hold."""
    today = today or timezone.localdate()
    reasons = []
    if order.status != ControlOrder.Status.OPEN:
        reasons.append(_("The order is not open."))
        return reasons
    if today <= order.end_date:
        served = (today - order.start_date).days
        total = (order.end_date - order.start_date).days + 1
        reasons.append(
            _("%(served)s of %(total)s days served.") % {"served": served, "total": total}
        )
    results = list(order.tests.values_list("day", "result"))
    pending = [d for d, r in results if r == ControlTest.Result.PENDING]
    positive = [d for d, r in results if r == ControlTest.Result.POSITIVE]
    if pending:
        reasons.append(_("Tests without a result on days %s.") % ", ".join(map(str, pending)))
    if positive:
        reasons.append(_("Positive test on days %s.") % ", ".join(map(str, positive)))
    return reasons


def control_order_release(*, actor, order: ControlOrder) -> ControlOrder:
    require(actor, roles.can_manage_orders)
    with transaction.atomic():
        order = ControlOrder.objects.select_for_update().get(pk=order.pk)
        blockers = release_blockers(order)
        if blockers:
            raise ControlError(" ".join(blockers), code="release_not_met")
        if order.room_id:
            _check_out(actor, order)
        order.status = ControlOrder.Status.RELEASED
        order.released_at = timezone.now()
        order.released_by = actor
        order.save(update_fields=["status", "released_at", "released_by", "room"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=order,
            changes={"status": ["open", "released"]},
        )
        events.publish("control.order_released", order_id=order.pk, person_id=order.person_id)
    return order
