"""The control API and pages: scope per endpoint and page, query counts, the token link."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.audit.models import AuditEntry
from fangkong.control import services
from fangkong.control.models import ControlOrder

from .factories import make_site, open_order


@pytest.fixture
def setup(tree, people, make_user, client):
    orders = {k: [open_order(p) for p in v] for k, v in people.items()}
    site_a = make_site(tree["district"], code="A", rooms=5)
    site_c = make_site(tree["district2"], code="C", rooms=5)
    worker = make_user(role="grid_worker", node="grid_a")
    client.force_login(worker)
    return {"orders": orders, "site_a": site_a, "site_c": site_c, "worker": worker}


def test_order_list_scope_and_queries(setup, client):
    with CaptureQueriesContext(connection) as ctx:
        data = client.get("/api/v1/control/orders/").json()
    assert sorted(o["id"] for o in data["results"]) == sorted(o.pk for o in setup["orders"]["a"])
    assert len(ctx.captured_queries) <= 6
    b = setup["orders"]["b"][0]
    assert client.get(f"/api/v1/control/orders/{b.pk}/").status_code == 404
    assert (
        client.post(f"/api/v1/control/orders/{b.pk}/check/", {"temperature": "36.5"}).status_code
        == 404
    )
    assert client.post(f"/api/v1/control/orders/{b.pk}/release/").status_code == 404
    a = setup["orders"]["a"][0]
    response = client.post(f"/api/v1/control/orders/{a.pk}/check/", {"temperature": "38.0"})
    assert response.status_code == 201
    response = client.post(f"/api/v1/control/orders/{a.pk}/release/")
    assert response.status_code == 400
    assert response.json()["code"] == "release_not_met"


def test_open_order_outside_scope_is_404(setup, client, people):
    response = client.post(
        "/api/v1/control/orders/", {"person": people["c"][0].pk, "category": "close_contact"}
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/control/orders/", {"person": people["a"][0].pk, "category": "close_contact"}
    )
    assert response.status_code == 409


def test_board_counts_only_subtree(setup, client, make_user):
    data = client.get("/api/v1/control/orders/board/").json()
    assert data["node"] == "320102001001G01"
    assert data["total"]["total"] == 3
    assert data["total"]["centralized"] == 3
    client.force_login(make_user(role="commander", node="city"))
    data = client.get("/api/v1/control/orders/board/").json()
    assert {c["code"]: c["total"] for c in data["children"]} == {"320102": 5, "320104": 1}
    assert data["total"]["due_tests"] == 6


def test_sites_scope_and_assign(setup, client, make_user):
    staff = make_user(role="isolation_staff", node="district")
    client.force_login(staff)
    assert [s["code"] for s in client.get("/api/v1/control/sites/").json()["results"]] == ["A"]
    assert client.get(f"/api/v1/control/sites/{setup['site_c'].pk}/").status_code == 404
    assert client.post("/api/v1/control/orders/assign-rooms/").json() == {
        "assigned": 5,
        "unassigned": 0,
    }
    assert ControlOrder.objects.filter(room__site=setup["site_a"]).count() == 5
    assert (
        ControlOrder.objects.filter(room__isnull=True).count() == 1
    )  # grid C: not this district's
    occ = client.get("/api/v1/control/sites/occupancy/").json()
    assert occ["total"]["occupied"] == 5
    assert client.get(f"/control/sites/{setup['site_a'].pk}/").status_code == 200
    assert client.get(f"/control/sites/{setup['site_c'].pk}/").status_code == 404


def test_pages(setup, client):
    page = client.get("/control/")
    assert page.status_code == 200
    assert "Control board" in page.content.decode()
    page = client.get("/control/checks/").content.decode()
    for order in setup["orders"]["a"]:
        assert order.person.name in page
    assert setup["orders"]["b"][0].person.name not in page
    b = setup["orders"]["b"][0]
    assert (
        client.post("/control/checks/", {"order": b.pk, "temperature": "36.5"}).status_code == 404
    )
    assert client.get(f"/control/orders/{b.pk}/release-notice/").status_code == 404


def test_self_report_without_account(setup):
    order = setup["orders"]["a"][0]
    anonymous = Client()
    anonymous.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = f"/control/self/{services.selfreport_token(order)}/"
    assert order.person.name in anonymous.get(url).content.decode()
    page = anonymous.post(url, {"temperature": "37.5", "symptoms": ""}).content.decode()
    assert "today's report is recorded" in page
    assert order.checks.get().source == "self"
    assert anonymous.get("/control/self/forged/").status_code == 404


def _english():
    anonymous = Client()
    anonymous.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return anonymous


def test_self_report_link_closes_when_the_order_ends(setup):
    ended, lapsed = setup["orders"]["a"][:2]
    anonymous = _english()
    url = f"/control/self/{services.selfreport_token(ended)}/"
    services.control_order_cancel(actor=setup["worker"], order=ended, reason="entered twice")
    page = anonymous.get(url)
    assert page.status_code == 410
    assert "the control order has ended" in page.content.decode()
    assert ended.person.name not in page.content.decode()
    assert anonymous.post(url, {"temperature": "36.5"}).status_code == 410
    assert not ended.checks.exists()
    # Past its last day an order that nobody released yet no longer opens either.
    url = f"/control/self/{services.selfreport_token(lapsed)}/"
    ControlOrder.objects.filter(pk=lapsed.pk).update(
        end_date=timezone.localdate() - timedelta(days=1)
    )
    assert anonymous.get(url).status_code == 410


def test_self_report_link_is_revocable(setup, client):
    order = setup["orders"]["a"][0]
    anonymous = _english()
    link = client.get(f"/api/v1/control/orders/{order.pk}/self-report-link/").json()
    assert link["version"] == 1
    assert link["url"] == f"http://testserver/control/self/{services.selfreport_token(order)}/"
    renewed = client.post(f"/api/v1/control/orders/{order.pk}/self-report-link/revoke/").json()
    assert renewed["version"] == 2
    old = anonymous.get(link["url"])
    assert old.status_code == 410
    assert "withdrawn" in old.content.decode()
    assert anonymous.get(renewed["url"]).status_code == 200
    entry = AuditEntry.objects.filter(object_id=str(order.pk)).latest("id")
    assert entry.changes == {"self_report_version": [1, 2]}
    b = setup["orders"]["b"][0]
    assert client.get(f"/api/v1/control/orders/{b.pk}/self-report-link/").status_code == 404
    assert client.post(f"/api/v1/control/orders/{b.pk}/self-report-link/revoke/").status_code == 404


def test_self_report_token_forged_with_a_public_key_is_404(setup):
    from config.settings.base import DEV_SECRET_KEY

    order = setup["orders"]["a"][0]
    anonymous = _english()
    # The forgery of issue 11: the pk signed with the key that used to be committed, and the
    # same with today's public dev key; neither is this deployment's key.
    for key, value in (
        ("insecure-development-key-change-me", order.pk),
        (DEV_SECRET_KEY, {"o": order.pk, "v": 1}),
    ):
        token = signing.dumps(value, key=key, salt=services.TOKEN_SALT)
        page = anonymous.get(f"/control/self/{token}/")
        assert page.status_code == 404
        assert order.person.name not in page.content.decode()
    # An old unversioned link signed with the real key does not open either.
    token = signing.dumps(order.pk, salt=services.TOKEN_SALT)
    assert anonymous.get(f"/control/self/{token}/").status_code == 404
