"""The node asked for by code goes through the guard (selectors.access_node) on the pages and the
API alike: a code outside the actor's subtree, or one that names nothing, is a 404 before any
work, and the way up and down the tree stops at the actor's own subtree."""

import pytest

from fangkong.command.models import Task
from fangkong.resumption import selectors

from .test_api import client_for


@pytest.mark.parametrize("code", ["320104", "320104001001G01", "999999"])
def test_a_node_outside_the_subtree_is_404_on_page_and_api(client, tree, make_user, code):
    hq = make_user(role="hq_staff", node="district")
    client.force_login(hq)
    assert client.get("/resumption/readiness/", {"node": code}).status_code == 404
    posted = client.post(
        "/resumption/readiness/dispatch/", {"node": code, "key": "isolation.rooms"}
    )
    assert posted.status_code == 404
    api = client_for(hq)
    assert api.get("/api/v1/readiness/", {"node": code}).status_code == 404
    assert api.get("/api/v1/resumption/status/", {"node": code}).status_code == 404
    dispatched = api.post(
        "/api/v1/readiness/dispatch/", {"key": "isolation.rooms", "node": code}, format="json"
    )
    assert (dispatched.status_code, dispatched.json()["code"]) == (404, "not_found")
    assert Task.objects.count() == 0


def test_the_page_links_only_to_nodes_the_actor_may_open(client, tree, make_user):
    client.force_login(make_user(role="hq_staff", node="street"))
    page = client.get("/resumption/readiness/").content.decode()
    assert "?node=320102001001" in page  # its community
    assert '?node=320102"' not in page  # no way up past its own node
    page = client.get("/resumption/readiness/", {"node": "320102001001"}).content.decode()
    assert '?node=320102001"' in page  # back up to its own street
    assert "?node=320102001001G01" in page and "?node=320102001001G02" in page


def test_access_node_defaults_to_the_actors_own_and_refuses_none(tree, make_user):
    hq = make_user(role="hq_staff", node="district")
    assert selectors.access_node(hq, None) == tree["district"]
    assert selectors.access_node(hq, "320102001") == tree["street"]
    assert [n.code for n in selectors.node_children(actor=hq, node=tree["city"])] == ["320102"]
    assert selectors.node_parent(actor=hq, node=tree["district"]) is None
