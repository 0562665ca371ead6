"""Disposition rules, arrival registration, closed-loop transfers and the transfer-loss alert."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from fangkong.checkpoints import services
from fangkong.checkpoints.models import Passenger, Transfer
from fangkong.common.models import Alert
from fangkong.control.models import ControlOrder, Stay
from fangkong.control.tests.factories import make_site
from fangkong.people import idnumber
from fangkong.people.models import Person

from .factories import external_area, make_checkpoint, register

D = Decimal


@pytest.mark.parametrize(
    "temperature, code, risk, abroad, disposition, category",
    [
        ("36.5", "green", "", False, "release", None),
        ("37.2", "green", "", False, "release", None),
        ("37.3", "green", "", False, "test", "returning"),
        ("36.5", "green", "low", False, "test", "returning"),
        ("36.5", "yellow", "", False, "home_monitoring", "risk_area"),
        ("36.5", "green", "medium", False, "home_monitoring", "risk_area"),
        ("36.5", "green", "controlled", False, "home_monitoring", "risk_area"),
        ("36.5", "green", "high", False, "centralized", "risk_area_high"),
        ("36.5", "green", "sealed", False, "centralized", "risk_area_high"),
        ("36.5", "green", "", True, "centralized", "inbound"),
        ("38.5", "red", "low", False, "centralized", "close_contact"),
        ("36.5", "red", "", True, "centralized", "close_contact"),
    ],
)
def test_disposition_rules(temperature, code, risk, abroad, disposition, category):
    decision = services.disposition_decide(
        temperature=D(temperature), health_code=code, risk_level=risk, abroad=abroad
    )
    assert (decision.disposition, decision.category) == (disposition, category)


def test_disposition_reasons():
    decision = services.disposition_decide(
        temperature=D("38.0"), health_code="yellow", risk_level="medium"
    )
    assert decision.reasons == ["from a risk area", "fever 38.0 °C", "yellow health code"]


def test_release_opens_no_order_and_keeps_registry_data(tree, people):
    checkpoint = make_checkpoint(tree["district"])
    person = people["a"][0]
    arrival = register(checkpoint, document_number=f"JSHC:2022|{person.document_number}")
    assert arrival.disposition == "release" and arrival.order is None
    assert arrival.person == person and arrival.destination_grid == tree["grid_a"]
    assert arrival.name == person.name and arrival.jpath == checkpoint.jpath


def test_risk_area_arrival_from_imported_list(tree, people):
    external_area("花木街道", "medium")
    checkpoint = make_checkpoint(tree["district"])
    arrival = register(checkpoint, people["a"][0], origin="上海市浦东新区花木街道")
    assert arrival.risk_level == "medium" and arrival.risk_area.name == "花木街道"
    order = arrival.order
    assert order.category == "risk_area" and order.jpath == people["a"][0].jpath
    # The ed. 9 preset puts risk-area arrivals under home isolation: the disposition says so.
    assert order.measure == "home_isolation" and arrival.disposition == "home_isolation"
    assert order.source == "Checkpoint K1"


def test_high_risk_area_arrival_gets_seven_days_centralized_under_ed9(tree, people):
    """Issue 16 point 8: plan ed. 9 sends arrivals from a high-risk area to 7 days of
    centralized isolation (tests on days 1, 2, 3, 5, 7); a medium-risk area stays 7 days of
    home isolation. The days come from the preset, so the 20 measures give home isolation."""
    external_area("花木街道", "high")
    external_area("张江镇", "medium")
    checkpoint = make_checkpoint(tree["district"])
    high = register(checkpoint, people["a"][0], origin="上海市浦东新区花木街道")
    order = high.order
    assert (order.category, order.measure, order.policy.code) == (
        "risk_area_high",
        "centralized",
        "plan-ed9",
    )
    assert high.disposition == "centralized"
    assert (order.end_date - order.start_date).days == 6
    assert sorted(
        (d - order.start_date).days + 1
        for d in order.tests.values_list("scheduled_date", flat=True)
    ) == [1, 2, 3, 5, 7]
    medium = register(checkpoint, people["a"][1], origin="上海市浦东新区张江镇")
    assert (medium.order.category, medium.order.measure) == ("risk_area", "home_isolation")
    assert (medium.order.end_date - medium.order.start_date).days == 6


def test_stranger_becomes_a_resident_of_the_destination_grid(tree):
    checkpoint = make_checkpoint(tree["district"])
    number = idnumber.make("310115", dt.date(1990, 5, 6), 123)
    with pytest.raises(services.CheckpointError) as refused:
        register(checkpoint, document_number=number, name="李四", abroad=True)
    assert refused.value.code == "destination_grid_required"
    arrival = register(
        checkpoint,
        document_number=number,
        name="李四",
        abroad=True,
        destination_grid=tree["grid_b"],
    )
    person = Person.objects.get(document_number=number)
    assert (person.name, person.sex, person.birth_date) == ("李四", "M", dt.date(1990, 5, 6))
    assert person.jpath == tree["grid_b"].path
    assert arrival.disposition == "centralized" and arrival.order.category == "inbound"
    with pytest.raises(services.CheckpointError) as refused:
        register(checkpoint, document_number="X", destination_grid=tree["district"], abroad=True)
    assert refused.value.code == "destination_not_grid"
    with pytest.raises(services.CheckpointError) as refused:
        register(checkpoint, document_number=number, temperature="3.65")
    assert refused.value.code == "temperature_out_of_range"


def test_second_arrival_reuses_the_open_order(tree, people):
    checkpoint = make_checkpoint(tree["district"])
    first = register(checkpoint, people["a"][0], health_code="red")
    again = register(checkpoint, people["a"][0], health_code="yellow")
    assert again.order == first.order
    assert ControlOrder.objects.filter(person=people["a"][0]).count() == 1


@pytest.fixture
def transfer_setup(tree, people):
    checkpoint = make_checkpoint(tree["district"])
    site = make_site(tree["district2"], code="S1", rooms=5)
    make_site(tree["district"], code="S0", rooms=5)
    arrivals = [register(checkpoint, p, health_code="red") for p in people["a"]]
    return {"checkpoint": checkpoint, "site": site, "arrivals": arrivals}


def _transfer(setup, orders=None):
    return services.transfer_create(
        actor=None,
        checkpoint=setup["checkpoint"],
        site=setup["site"],
        vehicle="苏A·T0001",
        driver="王师傅",
        orders=orders or [a.order for a in setup["arrivals"]],
    )


def test_transfer_lifecycle_and_check_in(transfer_setup):
    transfer = _transfer(transfer_setup)
    orders = ControlOrder.objects.filter(pk__in=[a.order_id for a in transfer_setup["arrivals"]])
    # Rooms at the drop-off site, although the other site is nearer to the people's grid.
    assert {o.room.site.code for o in orders} == {"S1"}
    assert transfer.pickup == "Checkpoint K1" and transfer.state == "planned"
    passenger = transfer.passengers.first()
    with pytest.raises(services.CheckpointError) as refused:
        services.passenger_check_in(actor=None, passenger=passenger)
    assert refused.value.code == "not_picked_up"
    for state in ("dispatched", "picked_up", "arrived"):
        transfer = services.transfer_advance(actor=None, transfer=transfer)
        assert transfer.state == state
    assert transfer.dispatched_at <= transfer.picked_up_at <= transfer.arrived_at
    with pytest.raises(services.CheckpointError) as refused:
        services.transfer_advance(actor=None, transfer=transfer)
    assert refused.value.code == "transfer_arrived"
    for p in transfer.passengers.all():
        services.passenger_check_in(actor=None, passenger=p)
    transfer.refresh_from_db()
    assert transfer.state == "done"
    assert Stay.objects.filter(checked_in_at__isnull=False).count() == 3
    with pytest.raises(services.Conflict) as refused:
        services.passenger_check_in(actor=None, passenger=passenger)
    assert refused.value.code == "already_checked_in"


def test_transfer_refusals(transfer_setup, tree, people):
    _transfer(transfer_setup, orders=[transfer_setup["arrivals"][0].order])
    with pytest.raises(services.Conflict) as refused:
        _transfer(transfer_setup, orders=[transfer_setup["arrivals"][0].order])
    assert refused.value.code == "already_on_transfer"
    home = register(transfer_setup["checkpoint"], people["b"][0], health_code="yellow")
    with pytest.raises(services.CheckpointError) as refused:
        _transfer(transfer_setup, orders=[home.order])
    assert refused.value.code == "not_centralized"
    small = make_site(tree["district2"], code="S2", rooms=1)
    with pytest.raises(services.CheckpointError) as refused:
        services.transfer_create(
            actor=None,
            checkpoint=transfer_setup["checkpoint"],
            site=small,
            vehicle="V",
            driver="D",
            orders=[a.order for a in transfer_setup["arrivals"][1:]],
        )
    assert refused.value.code == "no_room"
    assert Transfer.objects.count() == 1


def test_transfer_loss_alert_at_the_limit_boundary(transfer_setup):
    transfer = _transfer(transfer_setup)
    dispatched = timezone.now() - dt.timedelta(hours=5)
    services.transfer_advance(actor=None, transfer=transfer, at=dispatched)
    first = Passenger.objects.filter(transfer=transfer).order_by("id").first()
    limit = dt.timedelta(hours=3)
    assert services.transfers_lost_alert(now=dispatched + limit - dt.timedelta(seconds=1)) == 0
    assert services.transfers_lost_alert(now=dispatched + limit) == 6  # 3 people × checkpoint, site
    alerts = Alert.objects.filter(kind="transfer_lost")
    paths = {a.jurisdiction_path for a in alerts}
    assert paths == {transfer_setup["checkpoint"].jpath, transfer_setup["site"].jpath}
    assert alerts.filter(title__contains=first.order.person.name).count() == 2
    assert alerts.first().level == "critical"
    # De-duplicated: the periodic run raises nothing new.
    assert services.transfers_lost_alert(now=dispatched + 2 * limit) == 0
    assert Alert.objects.filter(kind="transfer_lost").count() == 6


def test_checked_in_people_are_not_lost_and_limit_is_configurable(transfer_setup):
    transfer = _transfer(transfer_setup)
    dispatched = timezone.now() - dt.timedelta(hours=2)
    transfer = services.transfer_advance(actor=None, transfer=transfer, at=dispatched)
    transfer = services.transfer_advance(actor=None, transfer=transfer, at=dispatched)
    first, *rest = transfer.passengers.order_by("id")
    services.passenger_check_in(actor=None, passenger=first)
    with override_settings(FANGKONG_TRANSFER_LIMIT_HOURS=1.5):
        assert services.transfers_lost_alert() == 4  # the two not checked in, twice
    assert not Alert.objects.filter(title__contains=first.order.person.name).exists()
