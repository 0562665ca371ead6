"""Duty checks, closure and restriction orders (by hand and from risk areas and the response
level), staff binding and inspections of a place."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.accounts.roles import Role
from fangkong.command import services as command
from fangkong.common import errors
from fangkong.places import policy, services
from fangkong.places.models import DutyCheck, PlaceInspection, PlaceOrder

from .factories import city_of_two, make_place, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    city, a, b = city_of_two()
    return city, a, b


def test_a_place_gets_a_number_and_a_venue_code(world):
    _city, a, _b = world
    first = make_place(a.community)
    second = make_place(a.community, name="锁金村菜场")
    assert first.code == f"{a.community.code}-00001" and second.code == f"{a.community.code}-00002"
    assert len(first.token) == 10 and first.token != second.token
    assert first.jpath == a.community.path


def test_registering_a_place_is_refused_with_codes(world):
    _city, a, b = world
    commander = user(Role.COMMANDER, a.node)
    with pytest.raises(services.Refused) as refused:
        services.place_create(
            actor=commander,
            name=" ",
            place_kind="spaceport",
            jurisdiction=a.community,
            contact_phone="12",
            capacity=-1,
        )
    assert refused.value.code == "place_invalid"
    assert set(refused.value.fields) == {"name", "place_kind", "contact_phone", "capacity"}
    with pytest.raises(errors.NotFound):  # another district's node
        services.place_create(
            actor=commander, name="夫子庙", place_kind="other", jurisdiction=b.community
        )
    with pytest.raises(errors.Forbidden):
        services.place_create(
            actor=user(Role.GRID_WORKER, a.grid),
            name="x",
            place_kind="other",
            jurisdiction=a.grid,
        )


def test_place_staff_record_the_duties_of_their_own_place_only(world):
    _city, a, _b = world
    market = make_place(a.community)
    school = make_place(a.community, name="实验小学", kind="school")
    staff = user(Role.PLACE_STAFF, a.community)
    services.place_staff_bind(actor=None, place=market, user=staff)
    check = services.duty_check_record(actor=staff, place=market, duty="disinfection", done=True)
    assert (check.day, check.done, check.recorded_by) == (timezone.localdate(), True, staff)
    # Correcting the same duty of the same day changes the one row.
    services.duty_check_record(
        actor=staff, place=market, duty="disinfection", done=False, note="缺消毒液"
    )
    assert DutyCheck.objects.get().note == "缺消毒液" and DutyCheck.objects.count() == 1
    with pytest.raises(errors.NotFound):
        services.duty_check_record(actor=staff, place=school, duty="mask", done=True)
    with pytest.raises(services.Refused) as refused:
        services.duty_check_record(
            actor=staff,
            place=market,
            duty="mask",
            done=True,
            day=timezone.localdate() + dt.timedelta(days=1),
        )
    assert refused.value.code == "day_in_future"


def test_a_duty_the_kind_does_not_carry_is_refused(world):
    _city, a, _b = world
    park = make_place(a.community, name="公园", kind="other")
    assert "staff_test" not in policy.duties_of("other")
    assert policy.duties_of("cold_chain")[-1] == "staff_test"
    assert policy.staff_test_days("cold_chain") == 1
    with pytest.raises(services.Refused) as refused:
        services.duty_check_record(actor=None, place=park, duty="staff_test", done=True)
    assert refused.value.code == "duty_not_required"


def test_binding_staff_needs_a_place_staff_login_on_the_place(world):
    _city, a, b = world
    market = make_place(a.community)
    with pytest.raises(services.Refused) as refused:
        services.place_staff_bind(actor=None, place=market, user=user(Role.GRID_WORKER, a.grid))
    assert refused.value.code == "not_place_staff"
    with pytest.raises(services.Refused) as refused:
        services.place_staff_bind(
            actor=None, place=market, user=user(Role.PLACE_STAFF, b.community)
        )
    assert refused.value.code == "staff_outside_place"


def test_a_new_order_replaces_the_open_one_and_a_lifted_order_cannot_be_lifted(world):
    _city, a, _b = world
    market = make_place(a.community)
    first = services.place_order_issue(
        actor=None, place=market, measure="restricted", capacity_percent=50
    )
    second = services.place_order_issue(actor=None, place=market, measure="closed")
    first.refresh_from_db()
    assert first.lifted_at is not None and second.lifted_at is None
    assert PlaceOrder.objects.filter(lifted_at__isnull=True).count() == 1
    with pytest.raises(services.Refused) as refused:
        services.place_order_issue(
            actor=None, place=market, measure="restricted", capacity_percent=100
        )
    assert refused.value.code == "percent_out_of_range"
    services.place_order_lift(actor=None, order=second)
    with pytest.raises(services.Conflict) as conflict:
        services.place_order_lift(actor=None, order=second)
    assert conflict.value.code == "order_lifted"


def test_a_medium_risk_area_closes_the_restaurant_and_restricts_the_market(world):
    _city, a, b = world
    commander = user(Role.COMMANDER, a.node)
    market = make_place(a.community)
    restaurant = make_place(a.community, name="梅园面馆", kind="restaurant")
    hospital = make_place(a.community, name="社区卫生服务中心", kind="hospital")
    elsewhere = make_place(b.community, name="夫子庙美食街", kind="restaurant")
    area = command.risk_area_declare(
        actor=commander, level="medium", since=timezone.localdate(), jurisdiction=a.community
    )
    stats = services.place_orders_apply(actor=None)
    assert stats == {"issued": 2, "lifted": 0, "kept": 0}
    orders = {o.place_id: o for o in PlaceOrder.objects.filter(lifted_at__isnull=True)}
    assert orders[restaurant.pk].measure == "closed" and orders[restaurant.pk].risk_area == area
    assert (orders[market.pk].measure, orders[market.pk].capacity_percent) == ("restricted", 50)
    assert hospital.pk not in orders and elsewhere.pk not in orders
    # Applying again changes nothing; the area's end lifts both.
    assert services.place_orders_apply(actor=None)["issued"] == 0
    command.risk_area_update(actor=commander, area=area, ended_on=timezone.localdate())
    assert services.place_orders_apply(actor=None)["lifted"] == 2
    assert not PlaceOrder.objects.filter(lifted_at__isnull=True).exists()


def test_a_manual_order_is_kept_and_the_response_level_restricts_crowds(world):
    city, a, _b = world
    commander = user(Role.COMMANDER, city)
    mall = make_place(a.community, name="新街口百货", kind="mall")
    ktv = make_place(a.community, name="后宰门KTV", kind="entertainment")
    school = make_place(a.community, name="实验小学", kind="school")
    manual = services.place_order_issue(actor=None, place=school, measure="closed", reason="停课")
    command.response_level_declare(actor=commander, level=1, jurisdiction=city)
    stats = services.place_orders_apply(actor=commander)
    assert stats["issued"] == 2 and stats["kept"] == 1
    orders = {o.place_id: o for o in PlaceOrder.objects.filter(lifted_at__isnull=True)}
    assert (orders[mall.pk].measure, orders[mall.pk].capacity_percent) == ("restricted", 50)
    assert orders[ktv.pk].measure == "closed" and orders[ktv.pk].source == "response_level"
    assert orders[school.pk] == manual
    command.response_level_declare(actor=commander, level=3, jurisdiction=city)
    assert services.place_orders_apply(actor=commander)["lifted"] == 2


def test_an_inspection_targets_a_place(world):
    _city, a, _b = world
    inspector = user(Role.INSPECTOR, a.node)
    market = make_place(a.community)
    link = services.place_inspection_start(actor=inspector, place=market, unannounced=True)
    assert PlaceInspection.objects.get() == link
    assert link.inspection.place == f"红山农贸市场 ({market.code})"
    assert link.inspection.unannounced is True and link.inspection.jpath == a.community.path


def test_old_scans_are_purged_and_recent_ones_exported_for_the_engine(world, tmp_path):
    import pyarrow.parquet as pq
    from django.core.management import call_command

    from fangkong.places import scans
    from fangkong.places.models import Scan
    from fangkong.tracing import engine

    _city, a, _b = world
    market = make_place(a.community)
    now = timezone.now()
    old = scans.scan_record(
        token=market.token, phone=a.people[0].phone, at=now - dt.timedelta(days=22)
    )
    scans.scan_record(token=market.token, phone=a.people[1].phone, at=now - dt.timedelta(hours=2))
    scans.scan_record(token=market.token, phone=a.people[2].phone, at=now - dt.timedelta(hours=2))
    scans.scan_record(token=market.token, phone="17700001234", at=now - dt.timedelta(hours=2))
    out = tmp_path / "scans.parquet"
    call_command("places", "export-scans", "--out", str(out))
    table = pq.read_table(out)
    assert sorted(table.column("person_id").to_pylist()) == sorted(
        [str(a.people[1].pk), str(a.people[2].pk)]
    )
    assert set(table.column("venue_id").to_pylist()) == {market.code}
    # The exported file is the big-data venue rule's input as it is.
    import pyarrow as pa

    index = pa.table(
        {
            "person_id": [str(a.people[1].pk)],
            "window_start": pa.array([dt.datetime(2000, 1, 1)], pa.timestamp("us")),
            "window_end": pa.array([dt.datetime(2100, 1, 1)], pa.timestamp("us")),
        }
    )
    result = engine.colocate_venue(str(out), index)
    assert result.column("contact_person_id").to_pylist() == [str(a.people[2].pk)]
    call_command("places", "purge-scans", "--days", "21")
    assert not Scan.objects.filter(pk=old.scan_id).exists() and Scan.objects.count() == 3
