"""A fever or symptom met at the door becomes a test order through testing's service: the
person is on the due-test list the samplers and the grid see (scoped), once however often they
are met, until swabbed; the finding's detail is stored as data and worded in the reader's
language."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fangkong.people.models import Person
from fangkong.screening.models import Finding
from fangkong.testing.models import Sample, TestOrder

from .factories import payload

pytestmark = pytest.mark.django_db


def api_for(u, language="en"):
    client = APIClient()
    client.force_authenticate(u)
    client.credentials(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    return client


def sync(api, *visits):
    response = api.post("/api/v1/screening/visits/sync/", {"visits": list(visits)}, format="json")
    assert response.status_code == 200, response.content
    return [r["status"] for r in response.json()["results"]]


def due(api) -> list[tuple[str, str]]:
    response = api.get("/api/v1/testing/test-orders/")
    assert response.status_code == 200, response.content
    return [(o["person"]["name"], o["reason"]) for o in response.json()["results"]]


def test_a_fever_at_the_door_puts_the_person_on_the_due_test_list_once(
    campaign, homes, make_user, tree
):
    worker = make_user("grid_worker", "grid_a")
    api = api_for(worker)
    feverish, coughing = Person.objects.filter(household=homes["a"][1]).order_by("id")[:2]
    first = payload(campaign, homes["a"][1], [feverish], fever=True)
    first["people"].append({"person": coughing.pk, "name": coughing.name, "symptoms": True})
    assert sync(api, first) == ["stored"]
    order = TestOrder.objects.get(person=feverish)
    visited = dt.datetime.fromisoformat(first["visited_at"])
    assert (order.reason, order.status, order.due_by) == (
        "fever",
        "open",
        visited + dt.timedelta(hours=24),
    )
    assert sorted(due(api)) == sorted([(feverish.name, "fever"), (coughing.name, "symptoms")])
    # Met again with a fever: the same order, no second one.
    assert sync(api, payload(campaign, homes["a"][1], [feverish], fever=True)) == ["stored"]
    assert TestOrder.objects.filter(person=feverish).count() == 1
    assert Finding.objects.filter(person=feverish, test_order=order).count() == 2
    # The samplers see it; another grid's worker and another district do not.
    assert len(due(api_for(make_user("sampler", "district")))) == 2
    assert due(api_for(make_user("grid_worker", "grid_b"))) == []
    assert due(api_for(make_user("hq_staff", "district2"))) == []
    # Swabbed after the order (in any round; samples carry no database foreign keys): off the list.
    Sample.objects.create(
        round_id=1, tube_id=1, person=feverish, sampled_at=timezone.now(), kind="single"
    )
    assert due(api) == [(coughing.name, "symptoms")]


def test_placing_a_test_order_through_the_api_is_scoped_and_idempotent(
    campaign, homes, make_user, tree
):
    person = Person.objects.filter(household=homes["a"][1]).first()
    hq = api_for(make_user("hq_staff", "district"))
    placed = hq.post(
        "/api/v1/testing/test-orders/", {"person": person.pk, "reason": "symptoms"}, format="json"
    )
    assert placed.status_code == 201 and placed.json()["status"] == "open"
    again = hq.post(
        "/api/v1/testing/test-orders/", {"person": person.pk, "reason": "fever"}, format="json"
    )
    assert again.status_code == 200 and again.json()["id"] == placed.json()["id"]
    elsewhere = api_for(make_user("hq_staff", "district2")).post(
        "/api/v1/testing/test-orders/", {"person": person.pk, "reason": "fever"}, format="json"
    )
    assert elsewhere.status_code == 404
    sampler = api_for(make_user("sampler", "district")).post(
        "/api/v1/testing/test-orders/", {"person": person.pk, "reason": "fever"}, format="json"
    )
    assert sampler.status_code == 403
    bad = hq.post(
        "/api/v1/testing/test-orders/", {"person": person.pk, "reason": "boredom"}, format="json"
    )
    assert bad.status_code == 400


def test_the_finding_detail_is_worded_in_the_readers_language(campaign, homes, make_user):
    worker = make_user("grid_worker", "grid_a")
    person = Person.objects.filter(household=homes["a"][1]).first()
    sync(api_for(worker), payload(campaign, homes["a"][1], [person], fever=True, symptoms=True))
    finding = Finding.objects.get()
    assert finding.detail == ""  # nothing worded is stored
    en = api_for(worker, "en").get("/api/v1/screening/findings/").json()["results"]
    zh = api_for(worker, "zh-hans").get("/api/v1/screening/findings/").json()["results"]
    assert en[0]["detail"] == "fever, symptoms"
    assert zh[0]["detail"] == "发热, 症状"


def test_the_samplers_untested_page_lists_who_is_due_a_test(
    campaign, homes, make_user, client, tree
):
    from fangkong.testing.services import round_create

    worker = make_user("grid_worker", "grid_a")
    person = Person.objects.filter(household=homes["a"][1]).first()
    sync(api_for(worker), payload(campaign, homes["a"][1], [person], fever=True))
    sampler = make_user("sampler", "district")
    round_ = round_create(actor=None, code="R-DUE", name="全员第一轮", scope=[tree["district"]])
    client.force_login(sampler)
    page = client.get(f"/testing/rounds/{round_.code}/untested/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Due a test" in html and person.name in html and "Fever at screening" in html
