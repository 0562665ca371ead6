"""Supplies pages: overview colouring, ledger, movement entry, output entry, requests; scope."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.supplies import services
from fangkong.supplies.models import Balance, Movement, OutputReport, SupplyRequest

from .factories import EnterpriseFactory, WarehouseFactory, items


@pytest.fixture
def world(tree):
    catalogue = items()
    today = timezone.localdate()
    a = WarehouseFactory(jurisdiction=tree["grid_a"], code="WA", name="A仓")
    b = WarehouseFactory(jurisdiction=tree["grid_b"], code="WB", name="B仓")
    mask = catalogue["MASK-SURG"]
    services.stock_receive(
        actor=None, warehouse=a, item=mask, quantity=900, day=today - dt.timedelta(days=9)
    )
    services.stock_receive(
        actor=None, warehouse=b, item=mask, quantity=5000, day=today - dt.timedelta(days=9)
    )
    for back in range(1, 8):
        services.stock_issue(
            actor=None, warehouse=a, item=mask, quantity=100, day=today - dt.timedelta(days=back)
        )
    return {"a": a, "b": b, "mask": mask, "items": catalogue}


def login(client, user):
    client.force_login(user)
    return client


def test_overview_colours_short_items(client, world, make_user, django_assert_max_num_queries):
    login(client, make_user(role="supply_officer", node="community"))
    with django_assert_max_num_queries(10):
        page = client.get("/supplies/").content.decode()
    assert "Supplies of 长江路社区" in page
    # grid A: 200 left at 100 a day = 2.0 days, short; grid B has no use = ∞.
    assert 'data-short="1">2.0<' in page
    assert "∞" in page
    assert client.get("/supplies/?node=320104").status_code == 404


def test_warehouse_page_scoped(client, world, make_user, django_assert_max_num_queries):
    login(client, make_user(role="supply_officer", node="grid_a"))
    with django_assert_max_num_queries(12):
        page = client.get("/supplies/warehouses/WA/").content.decode()
    assert "A仓" in page and "200 只" in page and "Record a movement" in page
    assert client.get("/supplies/warehouses/WB/").status_code == 404
    listing = client.get("/supplies/warehouses/").content.decode()
    assert "A仓" in listing and "B仓" not in listing


def test_movement_entry_form(client, world, make_user):
    login(client, make_user(role="supply_officer", node="community"))
    r = client.post(
        "/supplies/warehouses/WA/move/",
        {"kind": "issue", "item": world["mask"].pk, "quantity": 250},
    )
    assert r.status_code == 302
    page = client.get("/supplies/warehouses/WA/").content.decode()
    assert "Not enough 医用外科口罩 in A仓: 200 只 in stock, 250 asked for." in page
    client.post(
        "/supplies/warehouses/WB/move/",
        {
            "kind": "transfer",
            "item": world["mask"].pk,
            "quantity": 1000,
            "destination": world["a"].pk,
        },
    )
    assert Balance.objects.get(warehouse=world["a"], item=world["mask"]).quantity == 1200
    assert Balance.objects.get(warehouse=world["b"], item=world["mask"]).quantity == 4000
    grid_worker = make_user(role="grid_worker", node="grid_a")
    login(client, grid_worker)
    assert (
        client.post(
            "/supplies/warehouses/WA/move/",
            {"kind": "receipt", "item": world["mask"].pk, "quantity": 1},
        ).status_code
        == 403
    )
    login(client, make_user(role="supply_officer", node="grid_b"))
    assert (
        client.post(
            "/supplies/warehouses/WA/move/",
            {"kind": "receipt", "item": world["mask"].pk, "quantity": 1},
        ).status_code
        == 404
    )


def test_enterprise_output_page(client, world, make_user, tree):
    ent = EnterpriseFactory(jurisdiction=tree["grid_a"], name="A口罩厂")
    EnterpriseFactory(jurisdiction=tree["grid_b"], name="B口罩厂")
    login(client, make_user(role="supply_officer", node="grid_a"))
    page = client.get("/supplies/enterprises/").content.decode()
    assert "A口罩厂" in page and "B口罩厂" not in page
    day = timezone.localdate().isoformat()
    for _ in range(2):
        client.post(
            "/supplies/enterprises/",
            {"enterprise": ent.pk, "item": world["mask"].pk, "day": day, "quantity": 80000},
        )
    assert OutputReport.objects.get().quantity == 80000
    assert "80000 只" in client.get("/supplies/enterprises/").content.decode()


def test_requests_page_and_allocation(
    client, world, make_user, tree, django_assert_max_num_queries
):
    login(client, make_user(role="grid_worker", node="grid_b"))
    r = client.post(
        "/supplies/requests/",
        {
            "jurisdiction": "320102001001G02",
            "item": world["mask"].pk,
            "quantity": 300,
            "needed_by": "2026-11-30",
            "priority": 1,
            "deliver_to": "WB",
        },
    )
    assert r.status_code == 302
    page = client.post(
        "/supplies/requests/",
        {
            "jurisdiction": "320102001001G01",
            "item": world["mask"].pk,
            "quantity": 3,
            "needed_by": "2026-11-30",
            "priority": 3,
        },
    ).content.decode()
    assert "not a node of your subtree" in page
    request = SupplyRequest.objects.get()
    login(client, make_user(role="supply_officer", node="grid_a"))
    assert "B仓" not in client.get("/supplies/requests/").content.decode()
    assert (
        client.post(
            f"/supplies/requests/{request.pk}/allocate/", {"warehouse": "WA", "quantity": 100}
        ).status_code
        == 404
    )
    login(client, make_user(role="supply_officer", node="community"))
    client.post(f"/supplies/requests/{request.pk}/allocate/", {"warehouse": "WA", "quantity": 100})
    request.refresh_from_db()
    assert (request.status, request.allocated) == ("partial", 100)
    assert Balance.objects.get(warehouse=world["b"], item=world["mask"]).quantity == 5100
    for _ in range(4):
        services.supply_request_create(
            actor=None,
            jurisdiction=tree["grid_a"],
            item=world["mask"],
            quantity=5,
            needed_by=request.needed_by,
            deliver_to=world["a"],
        )
    with django_assert_max_num_queries(12):
        page = client.get("/supplies/requests/").content.decode()
    assert "Partly allocated" in page
    assert page.count('action="/supplies/requests/') == 5


def test_transfer_form_lists_only_warehouses_of_the_subtree(client, world, make_user):
    """Issue 11 point 8: the destination list held every warehouse of the city."""
    WarehouseFactory(jurisdiction=world["a"].jurisdiction, code="WA2", name="A二仓")
    login(client, make_user(role="supply_officer", node="grid_a"))
    page = client.get("/supplies/warehouses/WA/").content.decode()
    assert "A二仓" in page and "B仓" not in page
    client.post(
        "/supplies/warehouses/WA/move/",
        {"kind": "transfer", "item": world["mask"].pk, "quantity": 1, "destination": world["b"].pk},
    )
    assert not Movement.objects.filter(warehouse=world["b"], kind="transfer_in").exists()
