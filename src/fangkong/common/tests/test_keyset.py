"""Keyset pagination of the long lists: fixed query counts, no OFFSET, no COUNT over the subtree,
cursor links that walk every row exactly once in both directions, on the API and the pages."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from fangkong.common.alerts import alert_raise
from fangkong.common.keyset import estimate_count
from fangkong.people.models import Person
from fangkong.people.tests.factories import PersonFactory

LISTS = [
    "/api/v1/people/",
    "/api/v1/tracing/cases/",
    "/api/v1/tracing/contacts/",
    "/api/v1/control/orders/",
    "/api/v1/testing/tubes/",
    "/api/v1/command/tasks/",
    "/api/v1/alerts/",
]


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _get(client, url, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json(), [q["sql"] for q in queries.captured_queries]


def _assert_keyset(sql: list[str]) -> None:
    joined = "\n".join(sql).upper()
    assert " OFFSET " not in joined
    assert not re.search(r"COUNT\(", joined), joined
    assert re.search(r"LIMIT 51\b", joined), joined


def _cursor(link: str) -> str:
    return re.search(r"cursor=([^&]+)", link).group(1)


@pytest.mark.parametrize("url", LISTS)
def test_every_list_answers_a_keyset_page(make_user, url):
    body, sql = _get(client_for(make_user(role="commander", node="city")), url)
    assert set(body) == {"next", "previous", "estimated_count", "results"}
    assert body["next"] is None and body["previous"] is None
    _assert_keyset(sql)


def test_people_pages_walk_forward_and_back_with_fixed_queries(tree, make_user):
    client = client_for(make_user(role="commander", node="city"))
    PersonFactory(grid=tree["grid_a"])
    _body, few = _get(client, "/api/v1/people/")
    PersonFactory.create_batch(60, grid=tree["grid_a"])
    PersonFactory.create_batch(59, grid=tree["grid_b"])
    expected = list(
        Person.objects.order_by("jpath", "name", "id").values_list("id", flat=True)
    )  # the list's order (byte order is the same for these paths and names)
    seen, pages, url, params = [], [], "/api/v1/people/", {}
    while True:
        body, sql = _get(client, url, **params)
        _assert_keyset(sql)
        assert len(sql) == len(few)  # the same statements whatever the rows or the depth
        pages.append([r["id"] for r in body["results"]])
        seen += pages[-1]
        if not body["next"]:
            break
        params = {"cursor": _cursor(body["next"])}
    assert [len(p) for p in pages] == [50, 50, 20]
    assert seen == expected
    back, _sql = _get(client, url, cursor=_cursor(body["previous"]))
    assert [r["id"] for r in back["results"]] == pages[1]
    first, _sql = _get(client, url, cursor=_cursor(back["previous"]))
    assert [r["id"] for r in first["results"]] == pages[0]
    assert first["previous"] is None


def test_filters_and_scope_hold_across_pages(tree, make_user):
    PersonFactory.create_batch(55, grid=tree["grid_a"], sex="F")
    PersonFactory.create_batch(5, grid=tree["grid_a"], sex="M")
    PersonFactory.create_batch(10, grid=tree["grid_b"], sex="F")
    client = client_for(make_user(role="commander", node="grid_a"))
    body, _sql = _get(client, "/api/v1/people/", sex="F")
    rest, _sql = _get(client, "/api/v1/people/", sex="F", cursor=_cursor(body["next"]))
    ids = [r["id"] for r in body["results"] + rest["results"]]
    assert len(ids) == len(set(ids)) == 55
    assert set(Person.objects.filter(pk__in=ids).values_list("grid_id", flat=True)) == {
        tree["grid_a"].pk
    }
    assert rest["next"] is None


def test_alert_pages_keep_their_query_count(tree, make_user):
    client = client_for(make_user(role="commander", node="city"))
    alert_raise(kind="control_missed", title="漏报 0", jurisdiction_path=tree["grid_a"].path)
    _body, few = _get(client, "/api/v1/alerts/")
    for i in range(1, 75):
        alert_raise(kind="control_missed", title=f"漏报 {i}", jurisdiction_path=tree["grid_a"].path)
    body, first = _get(client, "/api/v1/alerts/")
    rest, second = _get(client, "/api/v1/alerts/", cursor=_cursor(body["next"]))
    assert len(first) == len(second) == len(few)
    titles = [r["title"] for r in body["results"] + rest["results"]]
    assert titles == [f"漏报 {i}" for i in range(74, -1, -1)]  # newest first


@pytest.mark.parametrize(
    "cursor", ["x", "eyJiIjowLCJ2IjpbMV19", "eyJiIjowLCJ2IjpbImEiLCJiIiwiYyJdfQ"]
)
def test_a_bad_cursor_is_a_400(make_user, cursor):
    client = client_for(make_user(role="commander", node="city"))
    response = client.get("/api/v1/people/", {"cursor": cursor})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


def test_the_search_page_links_by_cursor(client, tree, make_user):
    PersonFactory.create_batch(70, grid=tree["grid_a"])
    client.force_login(make_user(role="commander", node="city"))
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/people/").content.decode()
    _assert_keyset([q["sql"] for q in queries.captured_queries])
    next_link = re.search(r'href="(\?[^"]*cursor=[^"]+)" rel="next"', page).group(1)
    assert 'rel="prev"' not in page
    second = client.get("/people/" + next_link.replace("&amp;", "&")).content.decode()
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert second.count("/people/") >= 20


@pytest.mark.django_db
def test_a_filter_that_matches_nothing_estimates_zero():
    """Django compiles an empty `__in` to no SQL at all: the estimate is 0, not a server error."""
    assert estimate_count(Person.objects.filter(pk__in=[])) in (0, None)
