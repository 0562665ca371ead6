"""Writes of the control module: policies, control orders, tests, health checks, rooms."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core import signing
from django.db import connection, transaction
from django.db.models import Case, IntegerField, Max, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_created, audit_fields, audit_record
from fangkong.common import errors, events, paths
from fangkong.common.alerts import alert_raise
from fangkong.common.models import Alert
from fangkong.common.scope import require
from fangkong.common.states import place_state_set

from .. import roles
from ..models import (
    Category,
    ControlOrder,
    ControlTest,
    HealthCheck,
    JurisdictionSetting,
    Measure,
    OrderStep,
    Policy,
    PolicyStep,
    Room,
    Site,
    Stay,
)
from ..presets import DEFAULT_PRESET

FEVER = Decimal("37.3")
TOKEN_SALT = "fangkong.control.selfreport"


class ControlError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""


class Conflict(ControlError, errors.Conflict):
    pass


class NoRoom(Conflict):
    code = "no_room"


# --- policy arithmetic -------------------------------------------------------------------------


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


# --- control orders ----------------------------------------------------------------------------


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
            _("%(policy)s does not put this category under control.") % {"policy": policy}
        )
    plan = plan_compute(start_date, rule)
    today = timezone.localdate()
    with transaction.atomic():
        if ControlOrder.objects.filter(person=person, status=ControlOrder.Status.OPEN).exists():
            raise Conflict(_("%s already has an open control order.") % person.name)
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


# --- daily health checks and alerts ------------------------------------------------------------


class SelfReportLinkGone(ControlError):
    """A genuine self-report link that no longer opens: its order ended, or it was revoked."""

    status = 410


def selfreport_token(order: ControlOrder) -> str:
    """The person's link for daily self-reports: signed with SECRET_KEY, naming the order and the
    link's version, so that revoking (a new version) or the order's end closes it."""
    return signing.dumps({"o": order.pk, "v": order.self_report_version}, salt=TOKEN_SALT)


def selfreport_order(token: str) -> ControlOrder:
    """The open order a self-report link opens; NotFound for a forged or malformed link,
    SelfReportLinkGone (410) when the order has ended or the link was revoked."""
    try:
        value = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise errors.NotFound() from None
    if not isinstance(value, dict) or not isinstance(value.get("o"), int):
        raise errors.NotFound()  # the unversioned links of old: never valid again
    order = ControlOrder.objects.filter(pk=value["o"]).select_related("person").first()
    if order is None:
        raise errors.NotFound()
    if order.status != ControlOrder.Status.OPEN or timezone.localdate() > order.end_date:
        raise SelfReportLinkGone(
            _("This self-report link has expired: the control order has ended."),
            code="self_report_expired",
        )
    if value.get("v") != order.self_report_version:
        raise SelfReportLinkGone(
            _("This self-report link was withdrawn; ask your grid worker for the new one."),
            code="self_report_revoked",
        )
    return order


def selfreport_link_check(*, actor, order: ControlOrder) -> ControlOrder:
    """Whether `actor` may be given the order's self-report link: staff who manage orders, and
    only while the order is open (the link closes with it)."""
    require(actor, roles.can_manage_orders)
    if order.status != ControlOrder.Status.OPEN:
        raise Conflict(_("The control order has ended."), code="order_ended")
    return order


def selfreport_revoke(*, actor, order: ControlOrder) -> ControlOrder:
    """Withdraw the order's self-report link (lost phone, wrong recipient); a new link can be
    issued at once and is the only one that opens."""
    require(actor, roles.can_manage_orders)
    with transaction.atomic():
        order = ControlOrder.objects.select_for_update().get(pk=order.pk)
        before = order.self_report_version
        order.self_report_version = before + 1
        order.save(update_fields=["self_report_version"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=order,
            changes={"self_report_version": [before, order.self_report_version]},
        )
    return order


def health_check_record(
    *, actor, order: ControlOrder, temperature, symptoms: str = "", source: str = "worker", day=None
) -> HealthCheck:
    require(actor, roles.can_manage_orders)
    day = day or timezone.localdate()
    try:
        temperature = Decimal(str(temperature)).quantize(Decimal("0.1"))
    except ArithmeticError as exc:
        raise ControlError(_("Enter the temperature in °C, e.g. 36.5.")) from exc
    if not Decimal("34") <= temperature <= Decimal("43"):
        raise ControlError(_("A body temperature lies between 34 and 43 °C."))
    if order.status != ControlOrder.Status.OPEN or not order.start_date <= day <= order.end_date:
        raise ControlError(_("The order is not in force on that day."))
    symptoms = symptoms.strip()
    with transaction.atomic():
        check, _created = HealthCheck.objects.update_or_create(
            order=order,
            day=day,
            defaults={
                "temperature": temperature,
                "symptoms": symptoms,
                "source": source,
                "recorded_by": actor if getattr(actor, "is_authenticated", False) else None,
            },
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=check,
            jurisdiction_path=order.jpath,
            changes={"temperature": [None, str(temperature)], "symptoms": [None, symptoms]},
        )
        name = order.person.name
        if temperature >= FEVER:
            _alert_both(
                order,
                day,
                "fever",
                _("Fever %(t)s °C: %(name)s") % {"t": temperature, "name": name},
            )
        if symptoms:
            _alert_both(order, day, "symptom", _("Symptoms reported: %s") % name, body=symptoms)
    return check


def _alert_both(order, day, kind, title, body=""):
    """Alert the person's grid, and the site too when the person is in a room."""
    key = f"control:{order.pk}:{day.isoformat()}:{kind}"
    alert_raise(
        kind=f"control_{kind}",
        title=title,
        body=body,
        jurisdiction_path=order.jpath,
        obj=order,
        dedupe_key=key,
    )
    if order.room_id:
        site_path = Site.objects.filter(rooms=order.room_id).values_list("jpath", flat=True).first()
        alert_raise(
            kind=f"control_{kind}",
            title=title,
            body=body,
            jurisdiction_path=site_path,
            obj=order,
            dedupe_key=key + ":site",
        )


_ALERT_SQL = """
INSERT INTO common_alert
    (kind, level, title, body, jurisdiction_path, object_type, object_id, dedupe_key, created_at)
SELECT %s, %s, %s || p.name, {body}, {path}, 'control.controlorder', CAST(o.id AS varchar(20)),
       'control:' || CAST(o.id AS varchar(20)) || %s, %s
FROM {source}
JOIN people_person p ON p.id = o.person_id
{join}
WHERE {where}
ON CONFLICT DO NOTHING
"""


def daily_alerts_compute(*, day: date) -> dict:
    """Alerts for one finished day over every open order: missed checks, fevers, symptoms.

    A handful of INSERT ... SELECT statements whatever the number of orders; the dedupe key
    makes running it twice harmless."""
    d = connection.ops.adapt_datefield_value(day)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    active = "o.status = 'open' AND o.start_date <= %s AND o.end_date >= %s"
    rules = [
        (
            "missed",
            _("Missed health check: "),
            "control_controlorder o",
            "''",
            f"{active} AND NOT EXISTS (SELECT 1 FROM control_healthcheck h "
            "WHERE h.order_id = o.id AND h.day = %s)",
            [d, d, d],
        ),
        (
            "fever",
            _("Fever: "),
            "control_healthcheck h JOIN control_controlorder o ON o.id = h.order_id",
            "''",
            "h.day = %s AND h.temperature >= 37.3 AND o.status = 'open'",
            [d],
        ),
        (
            "symptom",
            _("Symptoms reported: "),
            "control_healthcheck h JOIN control_controlorder o ON o.id = h.order_id",
            "h.symptoms",
            "h.day = %s AND h.symptoms <> '' AND o.status = 'open'",
            [d],
        ),
    ]
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for kind, title, source, body, where, params in rules:
            total = 0
            for path, join, suffix in (
                ("o.jpath", "", ""),
                (
                    "st.jpath",
                    "JOIN control_room r ON r.id = o.room_id JOIN control_site st ON st.id = r.site_id",
                    ":site",
                ),
            ):
                sql = _ALERT_SQL.format(body=body, path=path, source=source, join=join, where=where)
                cursor.execute(
                    sql,
                    [
                        f"control_{kind}",
                        Alert.Level.WARNING,
                        title,
                        f":{day.isoformat()}:{kind}{suffix}",
                        now,
                        *params,
                    ],
                )
                total += max(cursor.rowcount, 0)
            counts[kind] = total
    return counts


# --- isolation sites and rooms -----------------------------------------------------------------


def site_create(
    *,
    actor,
    code,
    name,
    jurisdiction,
    kind="hotel",
    address="",
    floors: int = 1,
    rooms_per_floor: int = 10,
    family_rooms: int = 0,
    reserve_target: int = 0,
) -> Site:
    """A site with its floors and rooms numbered floor*100+n (e.g. 301..330)."""
    if floors < 1 or rooms_per_floor < 1 or rooms_per_floor > 99:
        raise ControlError(_("A site needs at least one floor with 1 to 99 rooms."))
    from ..models import Floor

    with transaction.atomic():
        site = Site.objects.create(
            code=code,
            name=name,
            kind=kind,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            address=address,
            capacity=floors * rooms_per_floor,
            reserve_target=reserve_target,
        )
        floor_objs = Floor.objects.bulk_create(
            Floor(site=site, number=n) for n in range(1, floors + 1)
        )
        Room.objects.bulk_create(
            Room(site=site, floor=f, number=f"{f.number}{n:02d}", family_allowed=n <= family_rooms)
            for f in floor_objs
            for n in range(1, rooms_per_floor + 1)
        )
        audit_created(
            actor=actor, obj=site, fields={"code": code, "name": name, "capacity": site.capacity}
        )
    return site


def _take_rooms(district: str, city: str, n: int, site: Site | None = None) -> list[int]:
    """Lock up to n vacant rooms, same district first, then the rest of the city (or only those
    of `site`); rooms locked by a concurrent assignment are skipped rather than waited for."""
    qs = Room.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        state=Room.State.VACANT, site__active=True
    )
    qs = (
        (qs.filter(site=site) if site is not None else qs.filter(site__jpath__startswith=city))
        .annotate(
            near=Case(
                When(site__jpath__startswith=district, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("near", "site__code", "floor__number", "number")
    )
    return list(qs.values_list("id", flat=True)[:n])


def _set_rooms(pairs: list[tuple[int, int]]) -> None:
    """order.room = room for every pair in one statement (bulk_update's CASE per row costs
    seconds of Python for 10,000 orders)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE control_controlorder o SET room_id = v.room_id "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, room_id) WHERE o.id = v.id",
                [[o for o, _r in pairs], [r for _o, r in pairs]],
            )
        return
    ControlOrder.objects.bulk_update(
        [ControlOrder(pk=o, room_id=r) for o, r in pairs], ["room"], batch_size=500
    )


def rooms_assign_open(*, actor) -> dict:
    """Rooms for every open centralized order of the actor's subtree that has none: the isolation
    desk's own request, so the desk's role decides (rooms_assign_batch serves the other modules)."""
    from .. import selectors

    require(actor, roles.can_manage_rooms)
    orders = selectors.order_list(actor=actor).filter(
        measure=Measure.CENTRALIZED, room__isnull=True
    )
    return rooms_assign_batch(actor=actor, orders=list(orders.values_list("id", flat=True)))


def rooms_assign_batch(*, actor, orders, site: Site | None = None) -> dict:
    """Give every order under centralized isolation without a room a room, in a few statements;
    with `site`, rooms of that site only (a closed-loop transfer's drop-off)."""
    now = timezone.now()
    with transaction.atomic():
        ids = [o.pk if hasattr(o, "pk") else o for o in orders]
        todo = list(
            ControlOrder.objects.select_for_update()
            .filter(
                pk__in=ids,
                status=ControlOrder.Status.OPEN,
                measure=Measure.CENTRALIZED,
                room__isnull=True,
            )
            .order_by("id")
            .values_list("id", "jpath")
        )
        groups = defaultdict(list)
        for order_id, jpath in todo:
            groups[(paths.prefix(jpath, 3), paths.prefix(jpath, 2))].append(order_id)
        pairs = []
        for (district, city), order_ids in sorted(groups.items()):
            rooms = _take_rooms(district, city, len(order_ids), site)
            # Occupied at once: the row locks do not hide these rooms from the next group's
            # query in this same transaction, only their state does.
            taken = Room.objects.filter(pk__in=rooms, state=Room.State.VACANT).update(
                state=Room.State.OCCUPIED
            )
            if taken != len(rooms):
                raise Conflict(_("Rooms changed while assigning; try again."))
            pairs += list(zip(order_ids, rooms, strict=False))
        if not pairs:
            if todo and site is not None:
                raise NoRoom(_("No vacant room at %s.") % site.name)
            if todo:
                raise NoRoom(_("No vacant isolation room in the city."))
            return {"assigned": 0, "unassigned": 0}
        _set_rooms(pairs)
        Stay.objects.bulk_create(
            [Stay(order_id=o, room_id=r, assigned_at=now) for o, r in pairs], batch_size=2000
        )
        path_of = dict(todo)
        who = audit_fields(actor)
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    **who,
                    action=Action.UPDATE,
                    object_type="control.controlorder",
                    object_id=str(o),
                    object_repr=f"control order #{o}",
                    jurisdiction_path=path_of[o],
                    changes={"room": [None, r]},
                )
                for o, r in pairs
            ],
            batch_size=2000,
        )
    return {"assigned": len(pairs), "unassigned": len(todo) - len(pairs)}


def room_assign(*, actor, order: ControlOrder, with_order: ControlOrder | None = None) -> Room:
    """One room for one order; with_order puts a child or elder in their carer's family room."""
    if with_order is not None:
        with transaction.atomic():
            room = (
                Room.objects.select_for_update().get(pk=with_order.room_id)
                if with_order.room_id
                else None
            )
            if room is None or not room.family_allowed:
                raise ControlError(_("The carer has no room that allows a family."))
            ControlOrder.objects.filter(pk=order.pk).update(room=room)
            Stay.objects.create(order=order, room=room, assigned_at=timezone.now())
            audit_record(
                actor=actor, action=Action.UPDATE, obj=order, changes={"room": [None, room.pk]}
            )
        order.refresh_from_db()
        return room
    if order.measure != Measure.CENTRALIZED:
        raise ControlError(_("Only centralized isolation needs a room."))
    if order.room_id:
        raise Conflict(_("The order already has a room."))
    result = rooms_assign_batch(actor=actor, orders=[order])
    if not result["assigned"]:
        raise NoRoom(_("No vacant isolation room in the city."))
    order.refresh_from_db()
    return order.room


def room_check_in(*, actor, order: ControlOrder) -> Stay:
    with transaction.atomic():
        stay = (
            Stay.objects.select_for_update().filter(order=order, checked_in_at__isnull=True).last()
        )
        if stay is None or order.room_id != stay.room_id:
            raise ControlError(_("No room is waiting for this person."))
        stay.checked_in_at = timezone.now()
        stay.save(update_fields=["checked_in_at"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=order,
            changes={"checked_in": [None, stay.room_id]},
        )
    return stay


def _check_out(actor, order):
    now = timezone.now()
    Stay.objects.filter(order=order, room_id=order.room_id, checked_out_at__isnull=True).update(
        checked_out_at=now
    )
    others = ControlOrder.objects.filter(room_id=order.room_id).exclude(pk=order.pk).exists()
    if not others:
        Room.objects.filter(pk=order.room_id).update(state=Room.State.CLEANING)
    audit_record(
        actor=actor, action=Action.UPDATE, obj=order, changes={"checked_out": [order.room_id, None]}
    )
    order.room = None


def control_order_cancel(*, actor, order: ControlOrder, reason: str) -> ControlOrder:
    """End an open order without release (e.g. the person became a case and went to hospital);
    their room, if any, is checked out."""
    with transaction.atomic():
        order = ControlOrder.objects.select_for_update().get(pk=order.pk)
        if order.status != ControlOrder.Status.OPEN:
            raise ControlError(_("The order is not open."))
        if order.room_id:
            _check_out(actor, order)
        order.status = ControlOrder.Status.CANCELLED
        order.reason = (f"{order.reason}; {reason}" if order.reason else reason)[:200]
        order.save(update_fields=["status", "reason", "room"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=order,
            changes={"status": ["open", "cancelled"], "reason": [None, reason]},
        )
        events.publish("control.order_cancelled", order_id=order.pk, person_id=order.person_id)
    return order


def room_check_out(*, actor, order: ControlOrder) -> ControlOrder:
    if not order.room_id:
        raise ControlError(_("The person has no room."))
    with transaction.atomic():
        _check_out(actor, order)
        order.save(update_fields=["room"])
    return order


def room_state_set(*, actor, room: Room, state: str) -> Room:
    """Cleaning done (cleaning → vacant), or a room taken out of / back into service."""
    return place_state_set(
        actor=actor,
        place=room,
        state=state,
        jpath=room.site.jpath,
        refused=lambda a, b: ControlError(
            _("A room cannot go from %(a)s to %(b)s.") % {"a": a, "b": b}
        ),
        changed=lambda: Conflict(_("The room changed meanwhile; reload.")),
    )
