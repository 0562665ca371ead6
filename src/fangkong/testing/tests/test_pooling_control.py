"""People under control at a community desk: isolation refused from a pool, home health
monitoring warned and confirmed, a tube of one always allowed; through the scanner API and page."""

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from fangkong.audit.models import AuditEntry
from fangkong.control.models import ControlOrder
from fangkong.control.tests.factories import open_order
from fangkong.testing.models import Sample, TemporaryControl, Tube

from .factories import SiteFactory, make_round

URL = "/api/v1/testing/tubes/scan/"


@pytest.fixture
def desk(make_user, tree, people):
    round_ = make_round("R1", tree["city"], pool_size=10)
    SiteFactory(code="SA", name="长江路采样点", jurisdiction=tree["grid_a"])
    user = make_user(role="sampler", node="grid_a")
    api = APIClient()
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    api.force_authenticate(user)
    web = Client()
    web.force_login(user)
    web.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return {"api": api, "web": web, "user": user, "round": round_, **people}


def body(barcode, person, **extra):
    return {
        "round": "R1",
        "site": "SA",
        "barcode": barcode,
        "code": person.document_number,
        **extra,
    }


def set_measure(person, measure):
    order = open_order(person)
    ControlOrder.objects.filter(pk=order.pk).update(measure=measure)
    return order


def test_centralized_isolation_is_refused_from_a_community_pool(desk):
    api, (free, isolated, _third) = desk["api"], desk["a"]
    set_measure(isolated, "centralized")
    assert api.post(URL, body("T1", free), format="json").status_code == 201
    # The second person goes into the open pool: the one-statement path must not let them in.
    refused = api.post(URL, body("T1", isolated), format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "isolated_in_pool"
    assert refused.json()["fields"] == {"control": ["centralized"]}
    assert "under Centralized isolation" in refused.json()["detail"]
    # Confirming changes nothing: isolation is not the desk's call.
    again = api.post(URL, body("T1", isolated, confirm=True), format="json")
    assert again.status_code == 409 and again.json()["code"] == "isolated_in_pool"
    # A new pool is refused too (the general path), and nothing of either attempt is left.
    assert api.post(URL, body("T9", isolated), format="json").json()["code"] == "isolated_in_pool"
    assert not Tube.objects.filter(barcode="T9").exists()
    assert Tube.objects.get(barcode="T1").members == 1
    assert not Sample.objects.filter(person=isolated).exists()
    # The remedy the message names: a tube of their own.
    single = api.post(URL, body("S1", isolated, capacity=1), format="json")
    assert single.status_code == 201 and single.json()["tube"]["capacity"] == 1
    assert single.json()["warnings"] == []


def test_home_isolation_and_temporary_control_are_refused(desk):
    api, (first, home, held) = desk["api"], desk["a"]
    set_measure(home, "home_isolation")
    TemporaryControl.objects.create(
        round=desk["round"],
        person=held,
        tube=Tube.objects.create(barcode="OLD", round=desk["round"], site_id=1, jpath="/"),
        jpath=held.jpath,
        since=timezone.now(),
    )
    assert api.post(URL, body("T1", first), format="json").status_code == 201
    home_answer = api.post(URL, body("T1", home), format="json").json()
    assert (home_answer["code"], home_answer["fields"]) == (
        "isolated_in_pool",
        {"control": ["home_isolation"]},
    )
    held_answer = api.post(URL, body("T1", held), format="json").json()
    assert (held_answer["code"], held_answer["fields"]) == (
        "isolated_in_pool",
        {"control": ["temporary_control"]},
    )
    assert Tube.objects.get(barcode="T1").members == 1


def test_home_monitoring_asks_to_confirm_then_warns_in_the_answer(desk):
    api, (first, monitored, _third) = desk["api"], desk["a"]
    set_measure(monitored, "home_monitoring")
    assert api.post(URL, body("T1", first), format="json").json()["warnings"] == []
    asked = api.post(URL, body("T1", monitored), format="json")
    assert asked.status_code == 409
    assert asked.json()["code"] == "monitored_in_pool"
    assert asked.json()["fields"] == {"control": ["home_monitoring"]}
    assert Tube.objects.get(barcode="T1").members == 1
    confirmed = api.post(URL, body("T1", monitored, confirm=True), format="json")
    assert confirmed.status_code == 201
    assert confirmed.json()["warnings"] == ["monitored_in_pool"]
    assert confirmed.json()["tube"]["members"] == 2
    entry = AuditEntry.objects.filter(changes__warning="monitored_in_pool").get()
    assert entry.changes == {
        "warning": "monitored_in_pool",
        "person": monitored.pk,
        "confirmed": True,
    }
    # Sent again without the flag: already in, nothing changes, no second warning.
    resent = api.post(URL, body("T1", monitored), format="json")
    assert resent.status_code == 200 and resent.json()["added"] is False
    assert AuditEntry.objects.filter(changes__warning="monitored_in_pool").count() == 1


def test_released_order_no_longer_stops_pooling(desk):
    api, (first, released, _third) = desk["api"], desk["a"]
    order = set_measure(released, "centralized")
    ControlOrder.objects.filter(pk=order.pk).update(status="released")
    assert api.post(URL, body("T1", first), format="json").status_code == 201
    answer = api.post(URL, body("T1", released), format="json")
    assert answer.status_code == 201 and answer.json()["tube"]["members"] == 2


def test_desk_page_shows_the_refusal_and_the_confirm_button(desk):
    web, (first, isolated, monitored) = desk["web"], desk["a"]
    set_measure(isolated, "centralized")
    set_measure(monitored, "home_monitoring")
    web.post("/testing/scanner/scan/", body("T1", first))
    refused = web.post("/testing/scanner/scan/", body("T1", isolated)).content.decode()
    assert 'data-code="isolated_in_pool"' in refused
    assert "Swab them into a tube of their own" in refused
    assert 'name="confirm"' not in refused
    asked = web.post("/testing/scanner/scan/", body("T1", monitored)).content.decode()
    assert 'data-code="monitored_in_pool"' in asked
    assert 'name="confirm" value="1"' in asked and 'name="barcode" value="T1"' in asked
    assert f'name="code" value="{monitored.document_number}"' in asked
    assert "Confirm and add to this tube" in asked
    done = web.post("/testing/scanner/scan/", body("T1", monitored, confirm="1")).content.decode()
    assert "Added." in done and "Tube T1: 2 of 10" in done
    assert 'data-code="monitored_in_pool"' in done
    zh = Client()
    zh.force_login(desk["user"])
    asked_zh = zh.post("/testing/scanner/scan/", body("T2", isolated)).content.decode()
    assert "集中隔离" in asked_zh and "单人单管" in asked_zh
