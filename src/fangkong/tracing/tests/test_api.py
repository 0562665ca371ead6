"""REST endpoints of tracing, with a scope test per endpoint and query counts on lists."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from fangkong.tracing import services
from fangkong.tracing.models import Case, Contact

from .factories import at, open_case

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def api(make_user):
    def client_for(role="grid_worker", node="grid_a", **kwargs):
        user = make_user(role=role, node=node, **kwargs)
        client = APIClient()
        client.force_authenticate(user)
        client.user = user
        return client

    return client_for


@pytest.fixture
def world(people):
    case_a = open_case(
        people["a"][0], onset_date=dt.date(2022, 4, 10), reported_at=at("2022-04-12")
    )
    case_c = open_case(people["c"][0], reported_at=at("2022-04-12", 13))
    lead_a = services.contact_add(
        actor=None,
        person=people["a"][1],
        source_case=case_a,
        setting="household",
        last_exposure_at=at("2022-04-11"),
    )
    lead_b = services.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=case_a,
        setting="venue",
        last_exposure_at=at("2022-04-11"),
    )
    services.activity_add(
        actor=None, case=case_a, setting="venue", place="超市", start=at("2022-04-11", 9)
    )
    return {"case_a": case_a, "case_c": case_c, "lead_a": lead_a, "lead_b": lead_b, **people}


def test_case_list_scoped_with_fixed_queries(api, world, django_assert_max_num_queries):
    district = api(role="epidemiologist", node="district")
    with django_assert_max_num_queries(6):
        body = district.get("/api/v1/tracing/cases/").json()
    assert [c["code"] for c in body["results"]] == [world["case_a"].code]
    assert body["results"][0]["document_number"].count("*") > 0
    assert district.get(f"/api/v1/tracing/cases/{world['case_c'].pk}/").status_code == 404
    city = api(role="epidemiologist", node="city")
    assert len(city.get("/api/v1/tracing/cases/").json()["results"]) == 2
    detail = city.get(f"/api/v1/tracing/cases/{world['case_a'].pk}/").json()
    assert detail["history"][0]["event"] == "opened"
    assert {i["key"] for i in detail["intervals"]} >= {"onset_to_report"}


def test_case_create_reclassify_and_window(api, world):
    client = api(role="epidemiologist", node="city")
    made = client.post(
        "/api/v1/tracing/cases/",
        {
            "person": world["b"][1].pk,
            "classification": "asymptomatic",
            "sampling_date": "2022-04-12",
        },
        format="json",
    )
    assert made.status_code == 201 and made.json()["window_start"].startswith("2022-04-08T00:00")
    pk = made.json()["id"]
    again = client.post(
        f"/api/v1/tracing/cases/{pk}/reclassify/", {"classification": "confirmed"}, format="json"
    )
    assert again.status_code == 200 and again.json()["classification"] == "confirmed"
    refused = client.post(
        f"/api/v1/tracing/cases/{pk}/reclassify/", {"classification": "asymptomatic"}, format="json"
    )
    assert refused.status_code == 400
    window = client.post(
        f"/api/v1/tracing/cases/{pk}/window/",
        {"start": "2022-04-07T00:00:00+08:00", "end": "2022-04-12T10:00:00+08:00"},
        format="json",
    )
    assert window.json()["window_edited"] is True
    assert (
        api(role="grid_worker", node="city")
        .post(f"/api/v1/tracing/cases/{pk}/severity/", {"severity": "mild"}, format="json")
        .status_code
        == 403
    )
    assert client.get("/api/v1/tracing/cases/intervals/").status_code == 200
    assert client.get("/api/v1/tracing/cases/figures/").json()["cases"] == 3


def test_grid_worker_sees_only_leads_of_their_grid(api, world, django_assert_max_num_queries):
    worker_b = api(role="grid_worker", node="grid_b")
    with django_assert_max_num_queries(6):
        body = worker_b.get("/api/v1/tracing/contacts/").json()
    assert [c["id"] for c in body["results"]] == [world["lead_b"].pk]
    assert worker_b.get(f"/api/v1/tracing/contacts/{world['lead_a'].pk}/").status_code == 404
    assert (
        worker_b.post(
            f"/api/v1/tracing/contacts/{world['lead_a'].pk}/verify/", {}, format="json"
        ).status_code
        == 404
    )
    verified = worker_b.post(
        f"/api/v1/tracing/contacts/{world['lead_b'].pk}/verify/", {}, format="json"
    )
    assert verified.json()["lead_state"] == "verified"
    controlled = worker_b.post(f"/api/v1/tracing/contacts/{world['lead_b'].pk}/control/")
    assert controlled.json()["lead_state"] == "under_control" and controlled.json()["control_order"]
    worker_a = api(role="grid_worker", node="grid_a")
    no_reason = worker_a.post(
        f"/api/v1/tracing/contacts/{world['lead_a'].pk}/exclude/", {"reason": ""}, format="json"
    )
    assert no_reason.status_code == 400
    excluded = worker_a.post(
        f"/api/v1/tracing/contacts/{world['lead_a'].pk}/exclude/",
        {"reason": "在外地出差"},
        format="json",
    )
    assert excluded.json()["lead_state"] == "excluded"
    again = worker_a.post(
        f"/api/v1/tracing/contacts/{world['lead_a'].pk}/verify/", {}, format="json"
    )
    assert again.status_code == 409


def test_contact_create_and_activities_scoped(api, world):
    epi = api(role="epidemiologist", node="district")
    made = epi.post(
        "/api/v1/tracing/contacts/",
        {
            "person": world["b"][1].pk,
            "source_case": world["case_a"].pk,
            "setting": "transport",
            "last_exposure_at": "2022-04-11T08:00:00+08:00",
        },
        format="json",
    )
    assert made.status_code == 201 and made.json()["lead_state"] == "pushed"
    assert made.json()["links"][0]["source_case"] == world["case_a"].code
    outside = epi.post(
        "/api/v1/tracing/contacts/",
        {
            "person": world["a"][2].pk,
            "source_case": world["case_c"].pk,
            "setting": "venue",
            "last_exposure_at": "2022-04-11T08:00:00+08:00",
        },
        format="json",
    )
    assert outside.status_code == 404
    assert [a["place"] for a in epi.get("/api/v1/tracing/activities/").json()["results"]] == [
        "超市"
    ]
    other = api(role="epidemiologist", node="district2")
    assert other.get("/api/v1/tracing/activities/").json()["count"] == 0
    activity = world["case_a"].activities.get()
    assert other.get(f"/api/v1/tracing/activities/{activity.pk}/").status_code == 404
    added = epi.post(
        "/api/v1/tracing/activities/",
        {
            "case": world["case_a"].pk,
            "setting": "transport",
            "place": "地铁3号线",
            "start": "2022-04-11T18:00:00+08:00",
        },
        format="json",
    )
    assert added.status_code == 201
    assert (
        other.post(
            "/api/v1/tracing/activities/",
            {
                "case": world["case_a"].pk,
                "setting": "venue",
                "place": "x",
                "start": "2022-04-11T18:00:00+08:00",
            },
            format="json",
        ).status_code
        == 404
    )


def test_clusters_endpoint_scoped(api, world):
    services.exposure_add(
        actor=None, case=world["case_c"], setting="venue", source_case=world["case_a"]
    )
    event = services.cluster_event_create(
        actor=None,
        code="JJ-1",
        name="市场聚集",
        setting="venue",
        jpath=world["case_a"].jpath,
        cases=[world["case_a"]],
    )
    city = api(role="commander", node="city")
    components = city.get("/api/v1/tracing/clusters/components/?min_cases=2").json()
    assert [(c["cases"], c["is_cluster"]) for c in components] == [(2, True)]
    assert city.get("/api/v1/tracing/clusters/").json()["results"][0]["cases"] == 1
    assert (
        api(role="commander", node="district").get("/api/v1/tracing/clusters/components/").json()
        == []
    )
    assert (
        api(role="commander", node="district2")
        .get(f"/api/v1/tracing/clusters/{event.pk}/")
        .status_code
        == 404
    )
    assert Case.objects.count() == 2 and Contact.objects.count() == 2


def test_travels_listed_and_added_within_scope(api, world):
    epi = api(role="epidemiologist", node="district")
    url = f"/api/v1/tracing/cases/{world['case_a'].pk}/travels/"
    added = epi.post(
        url,
        {
            "origin": "上海",
            "destination": "南京",
            "departed_at": "2022-04-09T08:00:00+08:00",
            "arrived_at": "2022-04-09T09:40:00+08:00",
            "mode": "高铁",
            "reference": "G7012",
        },
        format="json",
    )
    assert added.status_code == 201 and added.json()["reference"] == "G7012"
    assert [t["destination"] for t in epi.get(url).json()] == ["南京"]
    backwards = epi.post(
        url,
        {
            "origin": "南京",
            "destination": "上海",
            "departed_at": "2022-04-10T10:00:00+08:00",
            "arrived_at": "2022-04-10T09:00:00+08:00",
        },
        format="json",
    )
    assert backwards.status_code == 400
    # The role is the service's rule: a grid worker's journey is refused whatever the caller.
    journey = {"origin": "上海", "destination": "南京", "departed_at": "2022-04-09T08:00:00+08:00"}
    refused = api(role="grid_worker", node="grid_a").post(url, journey, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    other = api(role="epidemiologist", node="district2")
    assert other.get(url).status_code == 404
    assert other.post(url, {}, format="json").status_code == 404


def test_cluster_event_named_with_cases_of_the_subtree_only(api, world):
    epi = api(role="epidemiologist", node="district")
    body = {"code": "XW-1", "name": "红旗路菜场聚集", "setting": "venue", "place": "红旗路菜场"}
    outside = epi.post(
        "/api/v1/tracing/clusters/",
        {**body, "cases": [world["case_a"].pk, world["case_c"].pk]},
        format="json",
    )
    assert outside.status_code == 404 and not Case.objects.filter(cluster_event__isnull=False)
    made = epi.post(
        "/api/v1/tracing/clusters/", {**body, "cases": [world["case_a"].pk]}, format="json"
    )
    assert made.status_code == 201
    assert (made.json()["code"], made.json()["cases"]) == ("XW-1", 1)
    assert Case.objects.get(pk=world["case_a"].pk).cluster_event.code == "XW-1"
    again = epi.post("/api/v1/tracing/clusters/", body, format="json")
    assert again.status_code == 409
    grid = api(role="grid_worker", node="grid_a")
    assert grid.post("/api/v1/tracing/clusters/", body, format="json").status_code == 403


def test_contact_outside_the_subtree_is_pushed_but_reveals_nothing(api, world):
    """Issue 11 point 1: naming a 秦淮区 resident answered 201 with name, grid and masked numbers."""
    from fangkong.audit.models import AuditEntry
    from fangkong.people.models import Person
    from fangkong.people.tests.factories import PersonFactory

    epi = api(role="epidemiologist", node="district")
    qinhuai = PersonFactory(grid=world["c"][0].grid)
    body = {
        "source_case": world["case_a"].pk,
        "setting": "household",
        "last_exposure_at": "2022-04-11T08:00:00+08:00",
    }
    foreign = epi.post("/api/v1/tracing/contacts/", {**body, "person": qinhuai.pk}, format="json")
    nobody_id = Person.objects.order_by("-pk").first().pk + 1000
    nobody = epi.post("/api/v1/tracing/contacts/", {**body, "person": nobody_id}, format="json")
    assert (foreign.status_code, foreign.json()) == (202, {"forwarded": True})
    assert (nobody.status_code, nobody.json()) == (202, {"forwarded": True})
    assert qinhuai.name not in foreign.content.decode()
    # The lead is on the 秦淮区 grid's worklist, and the naming is in the audit log.
    lead = Contact.objects.get(person=qinhuai)
    assert (lead.state, lead.jpath) == ("pushed", qinhuai.jpath)
    worker_c = api(role="grid_worker", node="grid_c")
    assert [c["person"] for c in worker_c.get("/api/v1/tracing/contacts/").json()["results"]] == [
        qinhuai.pk
    ]
    named = AuditEntry.objects.filter(changes__outside_subtree=True).order_by("id")
    assert [(e.actor_id, e.changes["person"], e.changes["found"]) for e in named] == [
        (epi.user.pk, qinhuai.pk, True),
        (epi.user.pk, nobody_id, False),
    ]
    # Without one's own case nobody can be named at all.
    other_case = {**body, "source_case": world["case_c"].pk, "person": qinhuai.pk}
    assert epi.post("/api/v1/tracing/contacts/", other_case, format="json").status_code == 404
