"""The supplies REST API: scope per endpoint, concrete values, refusals and query counts."""

import datetime as dt

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from fangkong.supplies import services
from fangkong.supplies.models import Balance, Movement, SupplyRequest

from .factories import EnterpriseFactory, WarehouseFactory, items

TODAY = dt.date(2026, 11, 23)
API = "/api/v1/supplies"


@pytest.fixture
def world(tree, make_user):
    catalogue = items()
    a = WarehouseFactory(jurisdiction=tree["grid_a"], code="WA", name="A仓")
    b = WarehouseFactory(jurisdiction=tree["grid_b"], code="WB", name="B仓")
    c = WarehouseFactory(jurisdiction=tree["district2"], code="WC", name="C仓")
    mask = catalogue["MASK-SURG"]
    for w, q in ((a, 1000), (b, 2000), (c, 3000)):
        services.stock_receive(
            actor=None, warehouse=w, item=mask, quantity=q, day=TODAY - dt.timedelta(days=10)
        )
    for back in range(1, 8):
        services.stock_issue(
            actor=None, warehouse=a, item=mask, quantity=100, day=TODAY - dt.timedelta(days=back)
        )
    ent_a = EnterpriseFactory(jurisdiction=tree["grid_a"], name="A厂")
    ent_b = EnterpriseFactory(jurisdiction=tree["grid_b"], name="B厂")
    req_b = services.supply_request_create(
        actor=None, jurisdiction=tree["grid_b"], item=mask, quantity=50, needed_by=TODAY
    )
    return {
        "items": catalogue,
        "a": a,
        "b": b,
        "c": c,
        "mask": mask,
        "ent_a": ent_a,
        "ent_b": ent_b,
        "req_b": req_b,
    }


def client_for(user) -> APIClient:
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_authenticate(user)
    return client


def test_warehouses_scoped(world, make_user):
    client = client_for(make_user(role="supply_officer", node="grid_a"))
    body = client.get(f"{API}/warehouses/").json()
    assert [w["code"] for w in body["results"]] == ["WA"]
    assert client.get(f"{API}/warehouses/WB/").status_code == 404
    assert client.get(f"{API}/warehouses/WB/stock/").status_code == 404
    stock = client.get(f"{API}/warehouses/WA/stock/").json()
    assert stock == [{"item": "MASK-SURG", "name": "医用外科口罩", "unit": "只", "quantity": 300}]


def test_movements_scoped_and_query_count(world, make_user, django_assert_max_num_queries):
    client = client_for(make_user(role="supply_officer", node="community"))
    with django_assert_max_num_queries(5):
        body = client.get(f"{API}/movements/").json()
    assert body["count"] == 2 + 7
    assert {m["warehouse"] for m in body["results"]} == {"WA", "WB"}
    body = (
        client_for(make_user(role="supply_officer", node="grid_b")).get(f"{API}/movements/").json()
    )
    assert [(m["warehouse"], m["kind"], m["quantity"]) for m in body["results"]] == [
        ("WB", "receipt", 2000)
    ]
    assert client.get(f"{API}/movements/?kind=issue&warehouse=WA").json()["count"] == 7


def test_post_movements(world, make_user):
    officer = client_for(make_user(role="supply_officer", node="community"))
    r = officer.post(
        f"{API}/movements/",
        {
            "kind": "transfer",
            "warehouse": "WB",
            "destination": "WA",
            "item": "MASK-SURG",
            "quantity": 500,
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert [(m["warehouse"], m["quantity"]) for m in r.json()] == [("WB", -500), ("WA", 500)]
    r = officer.post(
        f"{API}/movements/",
        {"kind": "issue", "warehouse": "WA", "item": "MASK-SURG", "quantity": 801},
        format="json",
    )
    assert r.status_code == 409
    assert r.json()["code"] == "insufficient_stock"
    r = officer.post(
        f"{API}/movements/",
        {"kind": "stock_take", "warehouse": "WA", "item": "MASK-SURG", "quantity": 790},
        format="json",
    )
    assert (r.status_code, r.json()["code"]) == (400, "reason_required")
    r = officer.post(
        f"{API}/movements/",
        {
            "kind": "stock_take",
            "warehouse": "WA",
            "item": "MASK-SURG",
            "quantity": 790,
            "reason": "盘点",
        },
        format="json",
    )
    assert r.json()[0]["quantity"] == -10
    assert (
        officer.post(
            f"{API}/movements/",
            {"kind": "receipt", "warehouse": "WC", "item": "MASK-SURG", "quantity": 5},
            format="json",
        ).status_code
        == 404
    )
    assert (
        officer.post(
            f"{API}/movements/",
            {"kind": "receipt", "warehouse": "WA", "item": "NOPE", "quantity": 5},
            format="json",
        ).status_code
        == 400
    )
    grid_worker = client_for(make_user(role="grid_worker", node="grid_a"))
    assert (
        grid_worker.post(
            f"{API}/movements/",
            {"kind": "receipt", "warehouse": "WA", "item": "MASK-SURG", "quantity": 5},
            format="json",
        ).status_code
        == 403
    )
    assert Balance.objects.get(warehouse=world["a"], item=world["mask"]).quantity == 790
    assert services.balances_verify() == []


def test_cover_endpoint(world, make_user, tree):
    client = client_for(make_user(role="hq_staff", node="district"))
    body = client.get(f"{API}/cover/?today=2026-11-23").json()
    assert body["node"] == "320102"
    (total,) = body["total"]
    assert (total["stock"], total["daily_use"], total["days_of_cover"]) == (2300, 100.0, 23.0)
    body = client.get(f"{API}/cover/?node=320102001001&today=2026-11-23").json()
    rows = {r["node_code"]: r for r in body["children"]}
    assert (rows["320102001001G01"]["days_of_cover"], rows["320102001001G02"]["days_of_cover"]) == (
        3.0,
        None,
    )
    assert client.get(f"{API}/cover/?node=320104").status_code == 404
    assert client.get(f"{API}/cover/?today=yesterday").status_code == 400
    assert APIClient().get(f"{API}/cover/").status_code in (401, 403)


def test_enterprises_and_output(world, make_user):
    client = client_for(make_user(role="supply_officer", node="grid_a"))
    assert [e["name"] for e in client.get(f"{API}/enterprises/").json()["results"]] == ["A厂"]
    url = f"{API}/enterprises/{world['ent_a'].pk}/report/"
    payload = {"item": "MASK-SURG", "day": "2026-11-22", "quantity": 80000}
    assert client.post(url, payload, format="json").status_code == 201
    assert client.post(url, payload, format="json").status_code == 200
    assert (
        client.post(
            f"{API}/enterprises/{world['ent_b'].pk}/report/", payload, format="json"
        ).status_code
        == 404
    )
    outputs = client.get(f"{API}/outputs/").json()["results"]
    assert [(o["item"], o["quantity"]) for o in outputs] == [("MASK-SURG", 80000)]
    assert (
        client_for(make_user(role="supply_officer", node="grid_b"))
        .get(f"{API}/outputs/")
        .json()["count"]
        == 0
    )


def test_requests_scope_create_allocate(world, make_user, tree):
    grid_a = client_for(make_user(role="grid_worker", node="grid_a"))
    assert grid_a.get(f"{API}/requests/").json()["count"] == 0
    assert grid_a.get(f"{API}/requests/{world['req_b'].pk}/").status_code == 404
    r = grid_a.post(
        f"{API}/requests/",
        {
            "jurisdiction": "320102001001G01",
            "item": "SWAB",
            "quantity": 100,
            "needed_by": "2026-11-25",
            "priority": 1,
            "deliver_to": "WA",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    assert (
        grid_a.post(
            f"{API}/requests/",
            {
                "jurisdiction": "320102001001G02",
                "item": "SWAB",
                "quantity": 1,
                "needed_by": "2026-11-25",
            },
            format="json",
        ).status_code
        == 400
    )
    assert (
        grid_a.post(
            f"{API}/requests/{r.json()['id']}/allocate/",
            {"warehouse": "WA", "quantity": 1},
            format="json",
        ).status_code
        == 403
    )
    officer = client_for(make_user(role="supply_officer", node="community"))
    r2 = officer.post(
        f"{API}/requests/{world['req_b'].pk}/allocate/",
        {"warehouse": "WA", "quantity": 30},
        format="json",
    )
    assert (r2.status_code, r2.json()["status"], r2.json()["allocated"]) == (200, "partial", 30)
    r3 = officer.post(
        f"{API}/requests/{world['req_b'].pk}/allocate/",
        {"warehouse": "WA", "quantity": 30},
        format="json",
    )
    assert (r3.status_code, r3.json()["code"]) == (400, "over_allocation")
    assert (
        officer.post(
            f"{API}/requests/{world['req_b'].pk}/allocate/",
            {"warehouse": "WC", "quantity": 1},
            format="json",
        ).status_code
        == 404
    )
    assert SupplyRequest.objects.get(pk=world["req_b"].pk).allocated == 30
    assert Movement.objects.filter(request=world["req_b"]).count() == 1


def test_request_list_query_count(world, make_user, tree, django_assert_max_num_queries):
    for _ in range(5):
        services.supply_request_create(
            actor=None,
            jurisdiction=tree["grid_b"],
            item=world["mask"],
            quantity=5,
            needed_by=TODAY,
            deliver_to=world["b"],
        )
    client = client_for(make_user(role="supply_officer", node="community"))
    with django_assert_max_num_queries(5):
        assert client.get(f"{API}/requests/").json()["count"] == 6


def test_transfer_into_another_districts_warehouse_is_refused(world, make_user):
    """Issue 11 point 8: a district pushed stock into any warehouse of the city by code."""
    officer = client_for(make_user(role="supply_officer", node="district"))
    body = {"kind": "transfer", "warehouse": "WA", "item": "MASK-SURG", "quantity": 100}
    foreign = officer.post(f"{API}/movements/", {**body, "destination": "WC"}, format="json")
    unknown = officer.post(f"{API}/movements/", {**body, "destination": "NOPE"}, format="json")
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    assert (unknown.status_code, unknown.json()) == (404, foreign.json())
    assert Balance.objects.get(warehouse=world["c"], item=world["mask"]).quantity == 3000
    with pytest.raises(services.SupplyError):
        services.stock_transfer(
            actor=make_user(role="supply_officer", node="district"),
            source=world["a"],
            destination=world["c"],
            item=world["mask"],
            quantity=1,
        )
    # The way across: the other district's own request, delivered to its own warehouse.
    req = services.supply_request_create(
        actor=None,
        jurisdiction=world["c"].jurisdiction,
        item=world["mask"],
        quantity=40,
        needed_by=TODAY,
        deliver_to=world["c"],
    )
    services.supply_request_allocate(
        actor=make_user(role="supply_officer", node="district"),
        request=req,
        warehouse=world["a"],
        quantity=40,
    )
    assert Balance.objects.get(warehouse=world["c"], item=world["mask"]).quantity == 3040
