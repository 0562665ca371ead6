"""The checkpoints API and pages: scope per endpoint and page, query counts, Chinese pages."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fangkong.checkpoints import services
from fangkong.checkpoints.models import Arrival, Transfer
from fangkong.common.models import Alert
from fangkong.control.tests.factories import make_site

from .factories import make_checkpoint, register


@pytest.fixture
def setup(tree, people, make_user, client):
    k_a = make_checkpoint(tree["district"], code="KA")
    k_c = make_checkpoint(tree["district2"], code="KC", kind="station")
    site = make_site(tree["district"], code="SA", rooms=6)
    site_c = make_site(tree["district2"], code="SC", rooms=6)
    mine = [register(k_a, p, health_code="red") for p in people["a"]]
    theirs = [register(k_c, p, health_code="red") for p in people["c"]]
    t_c = services.transfer_create(
        actor=None, checkpoint=k_c, site=site_c, vehicle="C1", driver="D", orders=[theirs[0].order]
    )
    staff = make_user(role="checkpoint_staff", node="district")
    client.force_login(staff)
    return {
        "k_a": k_a,
        "k_c": k_c,
        "site": site,
        "site_c": site_c,
        "mine": mine,
        "theirs": theirs,
        "t_c": t_c,
        "staff": staff,
    }


def test_checkpoints_and_arrivals_scope(setup, client):
    assert [
        c["code"] for c in client.get("/api/v1/checkpoints/checkpoints/").json()["results"]
    ] == ["KA"]
    assert client.get(f"/api/v1/checkpoints/checkpoints/{setup['k_c'].pk}/").status_code == 404
    with CaptureQueriesContext(connection) as ctx:
        data = client.get("/api/v1/checkpoints/arrivals/").json()
    assert sorted(a["id"] for a in data["results"]) == sorted(a.pk for a in setup["mine"])
    assert len(ctx.captured_queries) <= 5
    assert data["results"][0]["document_number"].count("*") == 16
    assert client.get(f"/api/v1/checkpoints/arrivals/{setup['theirs'][0].pk}/").status_code == 404


def test_register_through_api(setup, client, people):
    payload = {
        "checkpoint": setup["k_a"].pk,
        "document_number": people["b"][0].document_number,
        "origin": "江苏省苏州市",
        "temperature": "37.6",
        "health_code": "green",
    }
    response = client.post("/api/v1/checkpoints/arrivals/", payload)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["disposition"] == "test" and body["order_measure"] == "self_monitoring"
    payload["checkpoint"] = setup["k_c"].pk
    assert client.post("/api/v1/checkpoints/arrivals/", payload).status_code == 404
    payload["checkpoint"] = setup["k_a"].pk
    payload["temperature"] = "39"
    payload["document_number"] = "X123"
    response = client.post("/api/v1/checkpoints/arrivals/", payload)
    assert response.status_code == 400
    assert response.json()["code"] == "destination_grid_required"


def test_transfers_scope_and_steps(setup, client, make_user):
    orders = [a.order_id for a in setup["mine"]]
    theirs = setup["theirs"][0].order_id
    base = {
        "checkpoint": setup["k_a"].pk,
        "site": setup["site"].pk,
        "vehicle": "苏A1",
        "driver": "王",
    }
    response = client.post(
        "/api/v1/checkpoints/transfers/", {**base, "orders": [orders[0], theirs]}
    )
    assert response.status_code == 404
    response = client.post(
        "/api/v1/checkpoints/transfers/", {**base, "checkpoint": setup["k_c"].pk, "orders": orders}
    )
    assert response.status_code == 404
    response = client.post("/api/v1/checkpoints/transfers/", {**base, "orders": orders})
    assert response.status_code == 201, response.content
    transfer = response.json()
    assert len(transfer["passengers"]) == 3 and transfer["site_code"] == "SA"
    with CaptureQueriesContext(connection) as ctx:
        listed = client.get("/api/v1/checkpoints/transfers/").json()["results"]
    assert [t["id"] for t in listed] == [transfer["id"]]
    assert len(ctx.captured_queries) <= 8
    t_c = setup["t_c"].pk
    for suffix in ("", "advance/", "check-in/"):
        url = f"/api/v1/checkpoints/transfers/{t_c}/{suffix}"
        response = client.get(url) if not suffix else client.post(url, {"passenger": 1})
        assert response.status_code == 404, url
    url = f"/api/v1/checkpoints/transfers/{transfer['id']}/"
    assert client.post(url + "advance/").json()["state"] == "dispatched"
    assert client.post(url + "advance/").json()["state"] == "picked_up"
    passenger = transfer["passengers"][0]["id"]
    assert (
        client.post(url + "check-in/", {"passenger": setup["t_c"].passengers.get().pk}).status_code
        == 404
    )
    # The site's staff (another role, the site's district) checks the passengers in.
    client.force_login(make_user(role="isolation_staff", node="district"))
    body = client.post(url + "check-in/", {"passenger": passenger}).json()
    assert body["passengers"][0]["checked_in_at"] is not None and body["state"] == "arrived"
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    assert client.post(url + "advance/").status_code in (403, 404)


def test_pages_in_chinese_and_scoped(setup, client, people):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get("/checkpoints/").content.decode()
    assert "来返人员登记" in page and "Checkpoint KA" in page and "Checkpoint KC" not in page
    assert people["a"][0].name in page
    assert client.get(f"/checkpoints/?checkpoint={setup['k_c'].pk}").status_code == 404
    response = client.post(
        "/checkpoints/",
        {
            "checkpoint": setup["k_a"].pk,
            "document_number": people["b"][1].document_number,
            "origin": "江苏省苏州市",
            "temperature": "36.6",
            "health_code": "green",
        },
        HTTP_HX_REQUEST="true",
    )
    assert "放行" in response.content.decode()
    assert Arrival.objects.filter(person=people["b"][1], disposition="release").exists()
    options = client.get("/checkpoints/grids/", {"destination_grid": "钞库街"}).content.decode()
    assert "320104001001G01" in options
    board = client.get("/checkpoints/transfers/").content.decode()
    assert "闭环转运" in board and people["a"][0].name in board
    assert people["c"][0].name not in board
    orders = [a.order_id for a in setup["mine"]]
    response = client.post(
        "/checkpoints/transfers/new/",
        {
            "checkpoint": setup["k_a"].pk,
            "site": setup["site"].pk,
            "vehicle": "苏A2",
            "driver": "李",
            "orders": orders,
        },
    )
    assert response.status_code == 302
    transfer = Transfer.objects.get(vehicle="苏A2")
    assert client.post(f"/checkpoints/transfers/{setup['t_c'].pk}/advance/").status_code == 404
    client.post(f"/checkpoints/transfers/{transfer.pk}/advance/")
    transfer.refresh_from_db()
    assert transfer.state == "dispatched"
    Transfer.objects.filter(pk=transfer.pk).update(
        dispatched_at=timezone.now() - dt.timedelta(hours=4)
    )
    services.transfers_lost_alert()
    assert (
        Alert.objects.filter(kind="transfer_lost", jurisdiction_path=setup["k_a"].jpath).count()
        == 3
    )
    board = client.get("/checkpoints/transfers/").content.decode()
    assert "task overdue" in board
    passenger = setup["t_c"].passengers.get()
    assert client.post(f"/checkpoints/passengers/{passenger.pk}/check-in/").status_code == 404


def test_command_raises_the_lost_alerts(setup):
    import io

    from django.core.management import call_command

    services.transfer_advance(
        actor=None, transfer=setup["t_c"], at=timezone.now() - dt.timedelta(hours=3)
    )
    out = io.StringIO()
    call_command("checkpoints", "transfers-lost", stdout=out)
    assert out.getvalue().strip() == "1 alerts raised (limit 3 h)"  # same node: one alert


def test_recent_arrivals_from_yesterday_show_their_date(setup, client):
    """The recent list spans midnight: a row from yesterday says which day it was (issue 16.4)."""
    arrival = setup["mine"][0]
    yesterday = timezone.localtime() - dt.timedelta(days=1)
    yesterday = yesterday.replace(hour=23, minute=47, second=0, microsecond=0)
    Arrival.objects.filter(pk=arrival.pk).update(registered_at=yesterday)
    page = client.get(f"/checkpoints/?checkpoint={setup['k_a'].pk}").content.decode()
    assert yesterday.strftime("%m-%d 23:47") in page
