"""Control orders, migration between policy versions, release, health checks and alerts, rooms."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fangkong.audit.models import AuditEntry
from fangkong.common import errors
from fangkong.common.models import Alert
from fangkong.control import selectors, services
from fangkong.control.models import ControlOrder, ControlTest, Policy, Room

from .factories import make_site, open_order


def test_presets_shipped(db):
    assert sorted(Policy.objects.values_list("code", "version")) == [
        ("nov-2022", 1),
        ("plan-ed8", 1),
        ("plan-ed9", 1),
    ]


def test_open_uses_default_then_nearest_ancestor_choice(tree, people, make_user):
    person = people["a"][0]
    order = open_order(person)
    assert order.policy.code == "plan-ed9"
    assert (order.end_date - order.start_date).days == 9
    assert order.measure == "centralized"
    assert list(order.tests.values_list("day", flat=True)) == [1, 2, 3, 5, 7, 10]
    ed8 = Policy.objects.get(code="plan-ed8")
    nov = Policy.objects.get(code="nov-2022")
    services.policy_choose(actor=None, jurisdiction=tree["city"], policy=ed8)
    services.policy_choose(actor=None, jurisdiction=tree["grid_b"], policy=nov)
    assert open_order(people["a"][1]).policy == ed8
    assert open_order(people["b"][0]).policy == nov
    with pytest.raises(services.ControlError) as refused:
        open_order(people["b"][1], category="secondary_contact")
    assert refused.value.code == "category_not_controlled"
    with pytest.raises(services.Conflict) as refused:
        open_order(person)
    assert refused.value.code == "order_open"
    assert (
        AuditEntry.objects.filter(object_type="control.controlorder", action="create").count() == 3
    )


def test_step_down_to_home_monitoring(tree, people):
    order = open_order(people["a"][0], days_ago=7)
    today = timezone.localdate()
    assert order.measure == "home_monitoring"  # day 8 of ed. 9
    fresh = open_order(people["a"][1])
    assert services.control_orders_advance(day=today + timedelta(days=7)) == 1
    fresh.refresh_from_db()
    assert fresh.measure == "home_monitoring"


def test_migrate_open_orders_recomputes_and_audits(tree, people):
    ed8 = Policy.objects.get(code="plan-ed8")
    old = [open_order(p, policy=ed8) for p in people["a"]]
    other = open_order(people["b"][0], category="inbound", policy=ed8)
    test1 = old[0].tests.get(day=1)
    services.control_test_record(actor=None, test=test1, result="negative")
    ed8_v2 = services.policy_version_create(
        actor=None,
        policy=ed8,
        rules={"close_contact": [("centralized", 7, [1, 2, 3, 5, 7]), ("home_monitoring", 3, [3])]},
    )
    assert ed8_v2.version == 2
    assert services.policy_rule(ed8_v2, "inbound") == services.policy_rule(ed8, "inbound")
    moved = services.control_orders_migrate(
        actor=None, category="close_contact", from_version=ed8, to_version=ed8_v2
    )
    assert moved == 3
    for order in old:
        order.refresh_from_db()
        assert order.policy == ed8_v2
        assert order.end_date == order.start_date + timedelta(days=9)
        assert list(order.tests.values_list("day", flat=True)) == [1, 2, 3, 5, 7, 10]
        assert list(order.steps.values_list("measure", flat=True)) == [
            "centralized",
            "home_monitoring",
        ]
    # The result already entered survives the move.
    assert old[0].tests.get(day=1).result == "negative"
    other.refresh_from_db()
    assert other.policy == ed8
    entries = AuditEntry.objects.filter(object_type="control.controlorder", action="update")
    assert entries.count() == 3
    assert (
        entries.first().changes["end_date"][1]
        == (old[0].start_date + timedelta(days=9)).isoformat()
    )


def test_release_conditions(tree, people):
    order = open_order(people["a"][0], days_ago=3)
    blockers = services.release_blockers(order)
    assert "3 of 10 days served." in blockers
    assert "Tests without a result on days 1, 2, 3, 5, 7, 10." in blockers
    with pytest.raises(services.ControlError) as refused:
        services.control_order_release(actor=None, order=order)
    assert refused.value.code == "release_not_met"
    done = open_order(people["a"][1], days_ago=10)
    for test in done.tests.all():
        services.control_test_record(actor=None, test=test, result="negative")
    assert services.release_blockers(done) == []
    services.control_order_release(actor=None, order=done)
    done.refresh_from_db()
    assert done.status == "released"
    positive = open_order(people["a"][2], days_ago=10)
    tests = list(positive.tests.all())
    for test in tests:
        services.control_test_record(actor=None, test=test, result="negative")
    services.control_test_record(actor=None, test=tests[2], result="positive")
    assert services.release_blockers(positive) == ["Positive test on days 3."]
    assert Alert.objects.filter(kind="control_positive").count() == 1


def test_health_checks_and_alerts(tree, people):
    today = timezone.localdate()
    fine, feverish, missing = (open_order(p) for p in people["a"])
    services.health_check_record(actor=None, order=fine, temperature="36.6")
    services.health_check_record(actor=None, order=feverish, temperature=37.3, symptoms="cough")
    assert Alert.objects.filter(kind="control_fever", jurisdiction_path=feverish.jpath).count() == 1
    assert Alert.objects.filter(kind="control_symptom").count() == 1
    with pytest.raises(services.ControlError) as refused:
        services.health_check_record(actor=None, order=fine, temperature="73")
    assert refused.value.code == "temperature_out_of_range"
    counts = services.daily_alerts_compute(day=today)
    assert counts == {"missed": 1, "fever": 0, "symptom": 0}  # fever/symptom already raised
    missed = Alert.objects.get(kind="control_missed")
    assert missed.object_id == str(missing.pk)
    assert missed.title == f"Missed health check: {missing.person.name}"
    assert missed.jurisdiction_path == missing.jpath
    assert services.daily_alerts_compute(day=today) == {"missed": 0, "fever": 0, "symptom": 0}
    assert Alert.objects.filter(kind="control_missed").count() == 1


def test_self_report_token(tree, people):
    order = open_order(people["a"][0])
    token = services.selfreport_token(order)
    assert services.selfreport_order(token) == order
    with pytest.raises(errors.NotFound):
        services.selfreport_order(token + "x")
    services.selfreport_revoke(actor=None, order=order)
    with pytest.raises(services.SelfReportLinkGone) as gone:
        services.selfreport_order(token)
    assert (gone.value.code, gone.value.status) == ("self_report_revoked", 410)


def test_rooms_assign_check_in_out(tree, people):
    near = make_site(tree["district"], code="NEAR", rooms=2)
    far = make_site(tree["district2"], code="FAR", rooms=5)
    orders = [open_order(p) for p in people["a"] + people["b"]]
    result = services.rooms_assign_batch(actor=None, orders=orders)
    assert result == {"assigned": 5, "unassigned": 0}
    sites = [ControlOrder.objects.get(pk=o.pk).room.site.code for o in orders]
    assert sites == ["NEAR", "NEAR", "FAR", "FAR", "FAR"]
    assert Room.objects.filter(state="occupied").count() == 5
    order = ControlOrder.objects.get(pk=orders[0].pk)
    services.room_check_in(actor=None, order=order)
    room = order.room
    services.room_check_out(actor=None, order=order)
    room.refresh_from_db()
    assert room.state == "cleaning"
    services.room_state_set(actor=None, room=room, state="vacant")
    with pytest.raises(services.ControlError):
        services.room_state_set(actor=None, room=room, state="occupied")
    occ = selectors.site_occupancy(actor=None)
    assert {s["code"]: s["free"] for s in occ["sites"]} == {"FAR": 2, "NEAR": 1}
    assert occ["total"]["occupied"] == 4
    assert near.pk and far.pk


def test_room_assign_refuses_when_full(tree, people):
    make_site(tree["district"], rooms=1)
    first = open_order(people["a"][0])
    services.room_assign(actor=None, order=first)
    with pytest.raises(services.NoRoom) as refused:
        services.room_assign(actor=None, order=open_order(people["a"][1]))
    assert refused.value.code == "no_room"


def test_reserve_and_runway(tree, people):
    make_site(tree["district"], rooms=4)
    orders = [open_order(p) for p in people["a"]]
    services.rooms_assign_batch(actor=None, orders=orders)
    for order in ControlOrder.objects.filter(pk__in=[o.pk for o in orders]):
        services.room_check_in(actor=None, order=order)
    data = selectors.reserve(node=tree["city"])
    assert data["rooms"] == 4
    assert data["residents"] == 6
    assert data["per_10k"] == Decimal("6666.7")
    assert data["target"] == 20
    assert data["free"] == 1
    assert data["intake_per_day"] == Decimal("1.0")
    assert data["days_left"] == Decimal("1.0")
    assert ControlTest.objects.count() == 18


def test_batch_groups_spilling_into_one_site_get_distinct_rooms(tree, people):
    # Grid A's district has the only site; grid C's contacts (another district) spill into it
    # after grid A's contact took its nearest room in the same batch.
    make_site(tree["district"], rooms=3)
    orders = [open_order(people["a"][0]), open_order(people["c"][0]), open_order(people["b"][0])]
    assert services.rooms_assign_batch(actor=None, orders=orders) == {
        "assigned": 3,
        "unassigned": 0,
    }
    rooms = list(ControlOrder.objects.values_list("room_id", flat=True))
    assert len(set(rooms)) == 3
    assert Room.objects.filter(state="occupied").count() == 3


def test_assign_to_one_site_and_cancel(tree, people):
    make_site(tree["district"], code="NEAR", rooms=2)
    far = make_site(tree["district2"], code="FAR", rooms=1)
    order = open_order(people["a"][0])
    assert services.rooms_assign_batch(actor=None, orders=[order], site=far)["assigned"] == 1
    order.refresh_from_db()
    assert order.room.site == far
    with pytest.raises(services.NoRoom) as refused:
        services.rooms_assign_batch(actor=None, orders=[open_order(people["a"][1])], site=far)
    assert refused.value.code == "no_room_at_site"
    services.control_order_cancel(actor=None, order=order, reason="admitted")
    order.refresh_from_db()
    assert (order.status, order.room_id, order.reason) == ("cancelled", None, "test; admitted")
    assert Room.objects.get(site=far).state == "cleaning"
    with pytest.raises(services.ControlError) as refused:
        services.control_order_cancel(actor=None, order=order, reason="again")
    assert refused.value.code == "order_not_open"
