"""Readiness: reserves of a district against the targets, the gaps and a task from one."""

import datetime as dt

import pytest

from fangkong.care.tests.factories import make_fangcang, make_hospital
from fangkong.command import services as command
from fangkong.command.models import Task, Unit
from fangkong.common import errors
from fangkong.control.tests.factories import make_site
from fangkong.resumption import readiness
from fangkong.supplies import services as supplies
from fangkong.supplies.tests.factories import WarehouseFactory, items
from fangkong.testing.tests.factories import LabFactory, SiteFactory


@pytest.fixture
def district(tree):
    """玄武区 declared at 100,000 residents, with some of everything it needs."""
    node = tree["district"]
    node.population = 100_000
    node.save(update_fields=["population"])
    SiteFactory(jurisdiction=tree["grid_a"], desks=3, samplers=5)
    LabFactory(jurisdiction=node, daily_capacity=5000)
    make_site(node, code="XW-ISO", floors=2, rooms=10)
    make_hospital(node, code="XW-H", icu=0, general=20)  # 1 unit of 20 general beds
    make_fangcang(node, code="XW-F", beds=200)
    catalogue = items()
    mask = next(i for code, i in catalogue.items() if "mask" in (i.name_en or "").lower())
    warehouse = WarehouseFactory(code="XW-W", jurisdiction=node)
    today = dt.date.today()
    supplies.movement_record(
        actor=None, warehouse=warehouse, kind="receipt", item=mask, quantity=1000, day=today
    )
    supplies.movement_record(
        actor=None,
        warehouse=warehouse,
        kind="issue",
        item=mask,
        quantity=700,
        day=today - dt.timedelta(days=1),
    )
    testing_group = command.unit_create(
        actor=None,
        name="核酸检测组",
        kind=Unit.Kind.WORKING_GROUP,
        jurisdiction=node,
        working_group="testing",
    )
    return {"node": node, "mask": mask, "testing_group": testing_group}


def test_the_districts_reserves_against_the_targets(district, make_user):
    hq = make_user(role="hq_staff", node="district")
    state = readiness.readiness(actor=hq, node=district["node"])
    lines = {line.key: line for line in state["lines"]}
    # 100,000 people in 24 hours: ⌈100,000/3,000⌉ points, ⌈100,000/800⌉ desks, ⌈100,000/360⌉
    # samplers; 10,000 tubes at 10:1 and ⌈100,000 × (1 − 0.999^10)⌉ = 996 re-tests at 0.1 %.
    assert [
        (lines[k].need, lines[k].have, lines[k].short)
        for k in ("testing.points", "testing.desks", "testing.samplers", "testing.lab")
    ] == [(34, 1, 33), (125, 3, 122), (278, 5, 273), (10_996, 5000, 5996)]
    assert "996" in lines["testing.lab"].basis
    # 20 rooms per 10,000: 200; the site has 2 floors of 10.
    assert (lines["isolation.rooms"].need, lines["isolation.rooms"].have) == (200, 20)
    assert lines["isolation.rooms"].short == 180
    # Beds: 2 designated per 10,000 (20: met by 20), 10 cabin beds per 10,000 (100: 200 held).
    assert (lines["beds.designated"].need, lines["beds.designated"].have) == (20, 20)
    assert lines["beds.designated"].met and lines["beds.cabin"].met
    # Masks: 300 left at 100 a day is 3 days of cover against 14.
    mask = lines[f"supplies.{district['mask'].code}"]
    assert (mask.need, mask.have, mask.short) == (14, 3.0, 11.0)
    assert "1,100" in mask.basis  # 14 × 100 − 300 more to hold
    assert {line.key for line in state["gaps"]} == {
        "testing.points",
        "testing.desks",
        "testing.samplers",
        "testing.lab",
        "isolation.rooms",
        f"supplies.{district['mask'].code}",
    }
    # Each gap names the group that owns it; the district has only its testing group.
    assert lines["testing.lab"].owner == district["testing_group"]
    assert lines["isolation.rooms"].owner is None


@pytest.mark.parametrize("rate, need, short", [(20, 200, 0), (40, 400, 200)])
def test_bed_targets_come_from_settings(district, make_user, settings, rate, need, short):
    settings.FANGKONG_READINESS_CABIN_BEDS_PER_10K = rate
    hq = make_user(role="hq_staff", node="district")
    lines = {x.key: x for x in readiness.readiness(actor=hq, node=district["node"])["lines"]}
    assert (lines["beds.cabin"].need, lines["beds.cabin"].short) == (need, short)


def test_a_task_is_dispatched_from_a_gap_once(district, make_user):
    hq = make_user(role="hq_staff", node="district")
    task = readiness.gap_dispatch(actor=hq, node=district["node"], key="testing.lab")
    assert task.assignee_unit == district["testing_group"]
    lab = {x.key: x for x in readiness.readiness(actor=hq, node=district["node"])["lines"]}
    assert task.title == readiness.task_title(district["node"], lab["testing.lab"])
    assert "玄武区" in task.title
    assert all(n in task.description for n in ("5,000", "10,996", "5,996", "核酸检测组"))
    assert (task.priority, task.dispatcher) == ("high", hq)
    # Without a group of its own below the actor, the task goes to the node's command.
    rooms = readiness.gap_dispatch(actor=hq, node=district["node"], key="isolation.rooms")
    assert (rooms.assignee_unit, rooms.assignee_node) == (None, district["node"])
    again = readiness.readiness(actor=hq, node=district["node"])
    assert {x.key: x.task for x in again["lines"]}["testing.lab"] == task
    with pytest.raises(errors.Conflict) as twice:
        readiness.gap_dispatch(actor=hq, node=district["node"], key="testing.lab")
    assert twice.value.code == "task_open"
    with pytest.raises(errors.Conflict) as met:
        readiness.gap_dispatch(actor=hq, node=district["node"], key="beds.cabin")
    assert met.value.code == "no_gap"
    with pytest.raises(errors.NotFound):
        readiness.gap_dispatch(actor=hq, node=district["node"], key="nope")
    assert Task.objects.count() == 2


def test_readiness_is_scoped_and_role_bound(district, tree, make_user):
    with pytest.raises(errors.NotFound):
        readiness.readiness(
            actor=make_user(role="hq_staff", node="district2"), node=tree["district"]
        )
    with pytest.raises(errors.Forbidden):
        readiness.readiness(actor=make_user(role="grid_worker"), node=tree["district"])
    with pytest.raises(errors.Forbidden):
        readiness.gap_dispatch(
            actor=make_user(role="auditor", node="district"),
            node=tree["district"],
            key="testing.lab",
        )


def test_the_city_adds_up_its_districts_shortfalls(district, tree, make_user):
    tree["district2"].population = 30_000
    tree["district2"].save(update_fields=["population"])
    commander = make_user(role="commander", node="city")
    lines = {x.key: x for x in readiness.readiness(actor=commander, node=tree["city"])["lines"]}
    # 320104 (30,000) holds no sampling point: its 10 add to 320102's 33.
    assert (lines["testing.points"].need, lines["testing.points"].short) == (34 + 10, 33 + 10)
