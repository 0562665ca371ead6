"""Tree browser pages: scoped, with counts at every node."""

import pytest


@pytest.fixture
def browser(client, make_user):
    def login(role="grid_worker", node="grid_a"):
        client.force_login(make_user(role=role, node=node))
        return client

    return login


def test_tree_redirects_to_own_node(browser, tree):
    response = browser(role="hq_staff", node="district").get("/geo/")
    assert response.status_code == 302
    assert response.url == "/geo/320102/"


def test_node_page_shows_children_and_counts(browser, people):
    page = browser(role="hq_staff", node="district").get("/geo/320102001001/").content.decode()
    assert "第一网格" in page and "第二网格" in page
    assert 'data-code="320102001001G01">3 ' in page
    assert 'data-code="320102001001G02">2 ' in page
    assert 'id="people-count">5<' in page


def test_htmx_children_partial(browser, people):
    response = browser(role="commander", node="city").get(
        "/geo/320104/children/", HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "夫子庙街道" in body and "<html" not in body


def test_pages_outside_subtree_are_404(browser, people):
    client = browser()
    assert client.get("/geo/320102001001G02/").status_code == 404
    assert client.get("/geo/320102001001G02/children/").status_code == 404
    assert client.get("/geo/320104/").status_code == 404
    home = client.get("/").content.decode()
    assert "第二网格" not in home


def test_login_required(client, tree):
    assert client.get("/geo/320102/").status_code == 302


def test_autocomplete_is_scoped(browser, tree):
    client = browser(role="hq_staff", node="district")
    body = client.get("/geo/autocomplete/", {"q": "网格"}).content.decode()
    assert 'value="320102001001G01"' in body and 'value="320102001001G02"' in body
    assert "320104001001G01" not in body
    assert client.get("/geo/autocomplete/", {"q": "秦淮"}).content.decode().strip() == ""
