"""The error contract through the API: malformed keys are not found, bad filters and oversized
integers are invalid, every refusal has the body {"code", "detail"}, and the role rule lives in
the services (so a caller that is not the API meets it too)."""

import pytest
from rest_framework.test import APIClient

from fangkong.accounts.tests.factories import UserFactory
from fangkong.common import errors, paths
from fangkong.control import services as control
from fangkong.supplies.tests.factories import EnterpriseFactory, items
from fangkong.testing import bulk
from fangkong.tracing import services as tracing
from fangkong.tracing.models import ClusterEvent
from fangkong.tracing.tests.factories import open_case

API = "/api/v1"
BAD_KEYS = ["abc", str(2**70)]

# One detail endpoint and one action per app; each answered 500 for "abc" before.
DETAILS = [
    "care/admissions/{}/",
    "checkpoints/transfers/{}/",
    "command/tasks/{}/",
    "command/proposals/{}/",
    "command/daily-reports/{}/",
    "command/bulletins/{}/",
    "control/orders/{}/",
    "supplies/requests/{}/",
    "testing/rechecks/{}/",
    "tracing/cases/{}/",
    "tracing/contacts/{}/",
    "people/{}/",
    "alerts/{}/",
    "imports/{}/",
]
ACTIONS = [
    "care/admissions/{}/discharge/",
    "checkpoints/transfers/{}/check-in/",
    "command/tasks/{}/feedback/",
    "command/proposals/{}/approve/",
    "command/proposals/{}/reject/",
    "command/daily-reports/{}/sign/",
    "control/orders/{}/release/",
    "supplies/requests/{}/allocate/",
    "tracing/cases/{}/reclassify/",
    "tracing/contacts/{}/verify/",
]


@pytest.fixture
def client_for():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def root(db):
    """A superuser without a node: sees the whole tree, so nothing is hidden by scope."""
    return UserFactory(role="admin", is_superuser=True)


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("route", DETAILS)
def test_a_malformed_id_on_a_detail_endpoint_is_not_found(tree, root, client_for, route, key):
    response = client_for(root).get(f"{API}/{route.format(key)}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("route", ACTIONS)
def test_a_malformed_id_on_an_action_is_not_found(tree, root, client_for, route, key):
    response = client_for(root).post(f"{API}/{route.format(key)}", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_no_route_answers_a_malformed_key_with_a_server_error(tree, root):
    from fangkong.api_urls import router

    client = APIClient(raise_request_exception=False)
    client.force_authenticate(root)
    errors_seen = []
    for pattern in router.urls:
        route = str(pattern.pattern)
        if "(?P<" not in route or "format" in route:
            continue
        for key in BAD_KEYS:
            url = f"{API}/" + _fill(route.lstrip("^").rstrip("$"), key)
            for method in (client.get, client.post):
                status = method(url, {}, format="json").status_code
                if status >= 500:
                    errors_seen.append((method.__name__, url, status))
    assert errors_seen == []


def _fill(route: str, key: str) -> str:
    import re

    return re.sub(r"\(\?P<\w+>[^)]*\)", key, route)


@pytest.mark.parametrize(
    "url",
    [
        "tracing/cases/?until=null",
        "tracing/cases/?since=x",
        "tracing/cases/figures/?since=x",
        "tracing/contacts/?case=abc",
        "tracing/activities/?case=abc",
        "tracing/contacts/?case=99999999999999999999",
        "tracing/activities/?case=99999999999999999999",
        "tracing/clusters/components/?min_cases=x",
    ],
)
def test_a_bad_filter_is_invalid(tree, make_user, client_for, url):
    response = client_for(make_user(role="epidemiologist", node="city")).get(f"{API}/{url}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_nul_byte_in_a_parameter_is_refused(tree, make_user, client_for, client):
    user = make_user(role="epidemiologist", node="city")
    response = client_for(user).get(f"{API}/tracing/cases/?q=a%00b")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    client.force_login(user)
    assert client.get("/tracing/?q=a%00b").status_code == 400


def test_integers_beyond_64_bits_in_bodies_are_invalid(tree, make_user, client_for):
    epi = client_for(make_user(role="epidemiologist", node="city"))
    body = {"code": "C1", "name": "n", "setting": "household", "cases": [99999999999999999999]}
    response = epi.post(f"{API}/tracing/clusters/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    items()
    enterprise = EnterpriseFactory(jurisdiction=tree["district"])
    officer = client_for(make_user(role="supply_officer", node="city"))
    response = officer.post(
        f"{API}/supplies/enterprises/{enterprise.pk}/report/",
        {"item": "SUIT", "day": "2026-11-20", "quantity": 9223372036854775808},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"quantity"}


def test_a_superuser_without_a_node_names_a_cluster_at_the_root(tree, people, root, client_for):
    case = open_case(people["a"][0])
    body = {"code": "C1", "name": "聚集", "setting": "household", "cases": [case.pk]}
    response = client_for(root).post(f"{API}/tracing/clusters/", body, format="json")
    assert response.status_code == 201 and response.json()["cases"] == 1
    assert ClusterEvent.objects.get(code="C1").jpath == paths.ROOT


def test_every_refusal_has_the_same_body(tree, people, make_user, client_for):
    epi = client_for(make_user(role="epidemiologist", node="city"))
    body = {"code": "C1", "name": "聚集", "setting": "household"}
    assert epi.post(f"{API}/tracing/clusters/", body, format="json").status_code == 201
    refusals = {
        400: epi.post(f"{API}/tracing/clusters/", {**body, "setting": "x"}, format="json"),
        403: client_for(make_user(role="grid_worker", node="grid_a")).post(
            f"{API}/tracing/clusters/", {**body, "code": "C2"}, format="json"
        ),
        404: epi.get(f"{API}/tracing/cases/abc/"),
        409: epi.post(f"{API}/tracing/clusters/", body, format="json"),
    }
    codes = {}
    for status, response in refusals.items():
        assert response.status_code == status
        data = response.json()
        assert {"code", "detail"} <= set(data) <= {"code", "detail", "fields"}
        assert isinstance(data["detail"], str) and data["detail"]
        codes[status] = data["code"]
    assert codes == {400: "invalid", 403: "forbidden", 404: "not_found", 409: "conflict"}


def test_the_role_rule_binds_callers_other_than_the_api(tree, people, make_user):
    grid_worker = make_user(role="grid_worker", node="grid_a")
    with pytest.raises(errors.Forbidden) as refused:
        tracing.case_open(actor=grid_worker, person=people["a"][0], classification="confirmed")
    assert refused.value.code == "forbidden"
    with pytest.raises(errors.Forbidden):
        control.rooms_assign_open(actor=grid_worker)
    with pytest.raises(errors.Forbidden):
        bulk.import_results(actor=grid_worker, source=None, filename="r.csv")
    # The operator at the command line (actor None) is not bound by the role rules.
    assert tracing.case_open(actor=None, person=people["a"][0], classification="confirmed").pk


def test_a_user_without_a_node_who_is_no_superuser_sees_no_drop_off_site(tree, root):
    from fangkong.checkpoints.selectors import drop_off_sites, grid_options
    from fangkong.control.tests.factories import make_site

    site = make_site(tree["district"], rooms=1)
    nodeless = UserFactory(role="checkpoint_staff")
    assert list(drop_off_sites(actor=nodeless)) == []
    assert list(grid_options(actor=nodeless, q="网格")) == []
    assert [s.pk for s in drop_off_sites(actor=root)] == [site.pk]
