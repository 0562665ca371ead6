"""Ledger, balances, transfers, stock-take, days of cover, shortages, output reports, requests."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.audit.models import AuditEntry
from fangkong.common.models import Alert
from fangkong.supplies import services
from fangkong.supplies.models import Balance, Item, Movement, OutputReport, SupplyRequest
from fangkong.supplies.selectors import cover_table
from fangkong.supplies.services import InsufficientStock, SupplyError

from .factories import WarehouseFactory, items

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def setup(tree, make_user):
    catalogue = items()
    return {
        "items": catalogue,
        "reserve": WarehouseFactory(jurisdiction=tree["city"], kind="reserve", name="市储备库"),
        "xuanwu": WarehouseFactory(jurisdiction=tree["district"], name="玄武区仓库"),
        "qinhuai": WarehouseFactory(jurisdiction=tree["district2"], name="秦淮区仓库"),
        "officer": make_user(role="supply_officer", node="city"),
    }


def balance(warehouse, item) -> int:
    return Balance.objects.get(warehouse=warehouse, item=item).quantity


def test_catalogue_is_idempotent(db):
    assert services.supply_items_ensure() == len(services.DEFAULT_ITEMS)
    assert services.supply_items_ensure() == 0
    n95 = Item.objects.get(code="MASK-N95")
    assert (n95.grade, n95.unit, n95.category) == ("N95/KN95", "只", "protection")
    assert Item.objects.filter(category="necessities").count() == 6


def test_sequence_of_movements_gives_exact_balances(setup):
    s, mask = setup, setup["items"]["MASK-SURG"]
    officer = s["officer"]
    services.stock_receive(actor=officer, warehouse=s["reserve"], item=mask, quantity=10_000)
    services.stock_issue(actor=officer, warehouse=s["reserve"], item=mask, quantity=1_500)
    out, into = services.stock_transfer(
        actor=officer, source=s["reserve"], destination=s["xuanwu"], item=mask, quantity=3_000
    )
    services.stock_issue(actor=officer, warehouse=s["xuanwu"], item=mask, quantity=800)
    adj = services.stock_take_record(
        actor=officer, warehouse=s["xuanwu"], item=mask, counted=2_150, reason="50 damaged by water"
    )
    assert balance(s["reserve"], mask) == 5_500
    assert balance(s["xuanwu"], mask) == 2_150
    assert (out.quantity, into.quantity, into.counterpart_id) == (-3_000, 3_000, out.pk)
    assert (adj.kind, adj.quantity, adj.reason) == ("adjustment", -50, "50 damaged by water")
    assert (
        services.stock_take_record(
            actor=officer, warehouse=s["xuanwu"], item=mask, counted=2_150, reason="recount"
        )
        is None
    )
    assert Movement.objects.count() == 6
    assert AuditEntry.objects.filter(object_type="supplies.movement").count() == 6
    assert services.balances_verify() == []


def test_issue_beyond_stock_is_refused_and_nothing_written(setup):
    s, suit = setup, setup["items"]["SUIT"]
    services.stock_receive(actor=s["officer"], warehouse=s["xuanwu"], item=suit, quantity=200)
    with pytest.raises(InsufficientStock) as refused:
        services.stock_issue(actor=s["officer"], warehouse=s["xuanwu"], item=suit, quantity=201)
    assert refused.value.code == "insufficient_stock"
    with pytest.raises(InsufficientStock):
        services.stock_transfer(
            actor=s["officer"],
            source=s["xuanwu"],
            destination=s["qinhuai"],
            item=suit,
            quantity=300,
        )
    with pytest.raises(InsufficientStock) as refused:
        services.stock_issue(actor=s["officer"], warehouse=s["qinhuai"], item=suit, quantity=1)
    assert refused.value.code == "insufficient_stock"
    assert balance(s["xuanwu"], suit) == 200
    assert not Balance.objects.filter(warehouse=s["qinhuai"], item=suit, quantity__gt=0).exists()
    assert Movement.objects.count() == 1


@pytest.mark.parametrize("bad", [0, -5, 1.5, "3", True])
def test_bad_quantities_are_refused(setup, bad):
    with pytest.raises(SupplyError) as refused:
        services.stock_receive(
            actor=setup["officer"],
            warehouse=setup["reserve"],
            item=setup["items"]["RICE"],
            quantity=bad,
        )
    assert refused.value.code == "invalid_quantity"


def test_stock_take_needs_reason_and_scope(setup, make_user):
    s, rice = setup, setup["items"]["RICE"]
    with pytest.raises(SupplyError) as refused:
        services.stock_take_record(
            actor=s["officer"], warehouse=s["xuanwu"], item=rice, counted=5, reason=" "
        )
    assert refused.value.code == "reason_required"
    other = make_user(role="supply_officer", node="district2")
    with pytest.raises(SupplyError) as refused:
        services.stock_receive(actor=other, warehouse=s["xuanwu"], item=rice, quantity=5)
    assert refused.value.code == "outside_jurisdiction"


def test_ledger_lines_are_immutable(setup):
    line = services.stock_receive(
        actor=setup["officer"], warehouse=setup["reserve"], item=setup["items"]["OIL"], quantity=5
    )
    line.quantity = 50
    with pytest.raises(ValueError, match="immutable"):
        line.save()
    with pytest.raises(ValueError, match="immutable"):
        line.delete()


def test_verify_reports_and_repairs_drift(setup):
    s, veg = setup, setup["items"]["VEG"]
    services.stock_receive(actor=s["officer"], warehouse=s["xuanwu"], item=veg, quantity=900)
    Balance.objects.filter(warehouse=s["xuanwu"], item=veg).update(quantity=1000)
    drift = services.balances_verify()
    assert drift == [
        {"warehouse_id": s["xuanwu"].pk, "item_id": veg.pk, "balance": 1000, "ledger": 900}
    ]
    services.balances_verify(repair=True)
    assert balance(s["xuanwu"], veg) == 900
    assert services.balances_verify() == []


def _stock_history(s):
    """Surgical masks: city reserve 10,000; Xuanwu 1,400 after issuing 1,400 over the last 7 days
    (200 a day); Qinhuai 7,000 after issuing 700 (100 a day). Older issues fall outside the window."""
    mask, officer = s["items"]["MASK-SURG"], s["officer"]
    services.stock_receive(
        actor=officer,
        warehouse=s["reserve"],
        item=mask,
        quantity=10_000,
        day=TODAY - dt.timedelta(days=20),
    )
    services.stock_receive(
        actor=officer,
        warehouse=s["xuanwu"],
        item=mask,
        quantity=3_800,
        day=TODAY - dt.timedelta(days=20),
    )
    services.stock_receive(
        actor=officer,
        warehouse=s["qinhuai"],
        item=mask,
        quantity=7_700,
        day=TODAY - dt.timedelta(days=20),
    )
    services.stock_issue(
        actor=officer,
        warehouse=s["xuanwu"],
        item=mask,
        quantity=1_000,
        day=TODAY - dt.timedelta(days=8),
    )
    for back in range(1, 8):
        day = TODAY - dt.timedelta(days=back)
        services.stock_issue(actor=officer, warehouse=s["xuanwu"], item=mask, quantity=200, day=day)
        services.stock_issue(
            actor=officer, warehouse=s["qinhuai"], item=mask, quantity=100, day=day
        )
    # Today's issue is outside the window (the day is not over) and a transfer is not use.
    services.stock_issue(actor=officer, warehouse=s["xuanwu"], item=mask, quantity=400, day=TODAY)
    services.stock_transfer(
        actor=officer,
        source=s["reserve"],
        destination=s["xuanwu"],
        item=mask,
        quantity=600,
        day=TODAY - dt.timedelta(days=2),
    )


def test_days_of_cover_for_city_and_districts(setup, tree, django_assert_max_num_queries):
    s = setup
    _stock_history(s)
    # Reserve 9,400; Xuanwu 3,800-1,000-1,400-400+600 = 1,600; Qinhuai 7,000.
    with django_assert_max_num_queries(4):
        table = cover_table(actor=s["officer"], node=tree["city"], today=TODAY)
    (total,) = table["total"]
    assert (total["stock"], total["daily_use"], total["days_of_cover"]) == (18_000, 300.0, 60.0)
    rows = {r["node_code"]: r for r in table["rows"]}
    assert (
        rows["320102"]["stock"],
        rows["320102"]["daily_use"],
        rows["320102"]["days_of_cover"],
    ) == (1_600, 200.0, 8.0)
    assert (rows["320104"]["stock"], rows["320104"]["days_of_cover"], rows["320104"]["short"]) == (
        7_000,
        70.0,
        False,
    )
    district = cover_table(actor=s["officer"], node=tree["district"], today=TODAY)
    assert district["total"][0]["days_of_cover"] == 8.0
    assert district["rows"] == []  # the warehouse sits at the district node itself


def test_no_consumption_means_no_limit(setup, tree):
    services.stock_receive(
        actor=setup["officer"], warehouse=setup["xuanwu"], item=setup["items"]["RICE"], quantity=50
    )
    (row,) = cover_table(actor=None, node=tree["district"], today=TODAY)["total"]
    assert (row["stock"], row["daily_use"], row["days_of_cover"], row["short"]) == (
        50,
        0.0,
        None,
        False,
    )


def test_cover_outside_scope_is_404(setup, tree, make_user):
    from django.http import Http404

    with pytest.raises(Http404):
        cover_table(actor=make_user(node="district2"), node=tree["district"], today=TODAY)


def test_shortage_alert_once_per_item_node_day(setup, tree):
    s = setup
    _stock_history(s)
    short = services.shortages_check(today=TODAY, threshold=10)
    assert [(r["node_code"], r["item_code"], r["days_of_cover"]) for r in short] == [
        ("320102", "MASK-SURG", 8.0)
    ]
    services.shortages_check(today=TODAY, threshold=10)
    alert = Alert.objects.get(kind="supply_shortage")
    assert alert.jurisdiction_path == tree["district"].path
    assert alert.level == "warning"
    assert alert.title == "医用外科口罩 short in 玄武区: 8.0 days of cover"
    assert services.shortages_check(today=TODAY) == []  # default threshold 3 days
    services.shortages_check(today=TODAY + dt.timedelta(days=1), threshold=10)
    assert Alert.objects.filter(kind="supply_shortage").count() == 2


def test_output_report_is_idempotent_per_day(setup, tree):
    s = setup
    mask, suit = s["items"]["MASK-SURG"], s["items"]["SUIT"]
    plant = services.enterprise_create(
        actor=s["officer"],
        code="E1",
        name="口罩厂",
        jurisdiction=tree["district"],
        capacities={mask: 100_000, suit: 300},
    )
    day = TODAY - dt.timedelta(days=1)
    report, created = services.enterprise_output_report(
        actor=s["officer"], enterprise=plant, item=mask, day=day, quantity=80_000
    )
    assert created
    again, created = services.enterprise_output_report(
        actor=s["officer"], enterprise=plant, item=mask, day=day, quantity=80_000
    )
    assert (again.pk, created) == (report.pk, False)
    services.enterprise_output_report(
        actor=s["officer"], enterprise=plant, item=suit, day=day, quantity=200
    )
    services.enterprise_output_report(
        actor=s["officer"], enterprise=plant, item=mask, day=day, quantity=81_000
    )
    assert sorted(OutputReport.objects.values_list("item__code", "quantity")) == [
        ("MASK-SURG", 81_000),
        ("SUIT", 200),
    ]
    assert AuditEntry.objects.filter(object_type="supplies.outputreport").count() == 3
    with pytest.raises(SupplyError) as refused:
        services.enterprise_output_report(
            actor=s["officer"], enterprise=plant, item=suit, day=day, quantity=-1
        )
    assert refused.value.code == "invalid_quantity"


def test_request_partial_then_full_allocation(setup, tree):
    s = setup
    kit = s["items"]["TEST-KIT"]
    services.stock_receive(actor=s["officer"], warehouse=s["reserve"], item=kit, quantity=5_000)
    request = services.supply_request_create(
        actor=s["officer"],
        jurisdiction=tree["district"],
        item=kit,
        quantity=3_000,
        needed_by=TODAY,
        priority=1,
        deliver_to=s["xuanwu"],
    )
    services.supply_request_allocate(
        actor=s["officer"], request=request, warehouse=s["reserve"], quantity=1_000
    )
    request.refresh_from_db()
    assert (request.status, request.allocated, request.remaining) == ("partial", 1_000, 2_000)
    with pytest.raises(SupplyError) as refused:
        services.supply_request_allocate(
            actor=s["officer"], request=request, warehouse=s["reserve"], quantity=2_500
        )
    assert refused.value.code == "over_allocation"
    services.supply_request_allocate(
        actor=s["officer"], request=request, warehouse=s["reserve"], quantity=2_000
    )
    request.refresh_from_db()
    assert request.status == "fulfilled"
    assert (balance(s["reserve"], kit), balance(s["xuanwu"], kit)) == (2_000, 3_000)
    assert Movement.objects.filter(request=request, kind="transfer_in").count() == 2
    with pytest.raises(SupplyError) as refused:
        services.supply_request_allocate(
            actor=s["officer"], request=request, warehouse=s["reserve"], quantity=1
        )
    assert refused.value.code == "request_closed"
    # Without a delivery warehouse the allocation is an issue to the unit; short stock is refused.
    grid_request = services.supply_request_create(
        actor=s["officer"], jurisdiction=tree["grid_a"], item=kit, quantity=5_000, needed_by=TODAY
    )
    with pytest.raises(InsufficientStock):
        services.supply_request_allocate(
            actor=s["officer"], request=grid_request, warehouse=s["reserve"], quantity=2_001
        )
    services.supply_request_allocate(
        actor=s["officer"], request=grid_request, warehouse=s["reserve"], quantity=2_000
    )
    grid_request.refresh_from_db()
    assert (grid_request.status, grid_request.allocated) == ("partial", 2_000)
    assert Movement.objects.get(request=grid_request).kind == "issue"
    services.supply_request_cancel(actor=s["officer"], request=grid_request)
    assert SupplyRequest.objects.get(pk=grid_request.pk).status == "cancelled"
    assert services.balances_verify() == []


def test_request_delivery_warehouse_must_be_the_units(setup, tree):
    with pytest.raises(SupplyError) as refused:
        services.supply_request_create(
            actor=setup["officer"],
            jurisdiction=tree["district"],
            item=setup["items"]["SWAB"],
            quantity=5,
            needed_by=TODAY,
            deliver_to=setup["qinhuai"],
        )
    assert refused.value.code == "delivery_outside_unit"


@pytest.mark.django_db(transaction=True)
def test_two_issues_race_for_the_last_units(tree, make_user):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises all writers, so there is no race to test")
    catalogue = items()
    officer = make_user(role="supply_officer", node="city")
    warehouse = WarehouseFactory(jurisdiction=tree["district"])
    suit = catalogue["SUIT"]
    services.stock_receive(actor=officer, warehouse=warehouse, item=suit, quantity=10)
    barrier = threading.Barrier(2)
    outcomes = []

    def racer():
        try:
            barrier.wait()
            services.stock_issue(actor=officer, warehouse=warehouse, item=suit, quantity=7)
            outcomes.append("issued")
        except InsufficientStock as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["insufficient_stock", "issued"]
    assert Balance.objects.get(warehouse=warehouse, item=suit).quantity == 3
    assert services.balances_verify() == []


def test_cover_is_two_grouped_queries(setup, tree):
    _stock_history(setup)
    with CaptureQueriesContext(connection) as ctx:
        cover_table(actor=None, node=tree["city"], today=TODAY)
    grouped = [q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 2
