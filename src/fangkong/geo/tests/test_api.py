"""Jurisdiction endpoints: scope per endpoint, counts, 404 outside the subtree."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api(make_user):
    def client_for(role="grid_worker", node="grid_a"):
        client = APIClient()
        client.force_authenticate(make_user(role=role, node=node))
        return client

    return client_for


def test_grid_worker_lists_only_own_grid(api, tree):
    response = api().get("/api/v1/jurisdictions/")
    assert response.status_code == 200
    assert [row["code"] for row in response.json()["results"]] == ["320102001001G01"]


def test_node_outside_subtree_is_404(api, tree):
    client = api()
    assert client.get("/api/v1/jurisdictions/320102001001G02/").status_code == 404
    assert client.get("/api/v1/jurisdictions/320102001001G02/children/").status_code == 404
    assert client.get("/api/v1/jurisdictions/320100/").status_code == 404
    assert (
        client.get("/api/v1/jurisdictions/320102001001G01/").json()["parent_code"] == "320102001001"
    )


def test_district_user_sees_children_with_counts(api, people):
    client = api(role="hq_staff", node="district")
    response = client.get("/api/v1/jurisdictions/320102001001/children/")
    assert response.json() == [
        {
            "code": "320102001001G01",
            "level": "grid",
            "name": "第一网格",
            "declared_population": None,
            "people": 3,
        },
        {
            "code": "320102001001G02",
            "level": "grid",
            "name": "第二网格",
            "declared_population": None,
            "people": 2,
        },
    ]
    city = api(role="commander", node="city").get("/api/v1/jurisdictions/320100/children/").json()
    assert {row["code"]: row["people"] for row in city} == {"320102": 5, "320104": 1}


def test_filters(api, tree):
    client = api(role="commander", node="city")
    grids = client.get("/api/v1/jurisdictions/", {"level": "grid"}).json()["results"]
    assert {row["code"] for row in grids} == {
        "320102001001G01",
        "320102001001G02",
        "320104001001G01",
    }
    assert [
        r["code"] for r in client.get("/api/v1/jurisdictions/", {"q": "秦淮"}).json()["results"]
    ] == ["320104"]
    assert client.get("/api/v1/jurisdictions/", {"level": "planet"}).status_code == 400


def test_list_is_not_n_plus_one(api, tree, django_assert_max_num_queries):
    client = api(role="commander", node="province")
    with django_assert_max_num_queries(4):
        assert client.get("/api/v1/jurisdictions/").json()["count"] == 11


def test_anonymous_is_refused(tree):
    assert APIClient().get("/api/v1/jurisdictions/").status_code in (401, 403)
