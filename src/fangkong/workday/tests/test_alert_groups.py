"""Open alerts grouped by kind and node, and a group acknowledged at once (scoped, audited)."""

import pytest

from fangkong.audit.models import AuditEntry
from fangkong.common.alerts import alert_group_acknowledge, alert_groups, alert_raise
from fangkong.common.errors import DomainError
from fangkong.common.models import Alert


@pytest.fixture
def flood(tree):
    for i in range(7):
        alert_raise(kind="control_missed", title=f"漏报 {i}", jurisdiction_path=tree["grid_a"].path)
    for i in range(3):
        alert_raise(
            kind="control_missed", title=f"二网格漏报 {i}", jurisdiction_path=tree["grid_b"].path
        )
    alert_raise(kind="control_fever", title="发热", jurisdiction_path=tree["grid_a"].path)
    alert_raise(kind="control_missed", title="钞库街漏报", jurisdiction_path=tree["grid_c"].path)


def test_groups_count_by_kind_and_node_within_the_subtree(make_user, flood):
    groups = alert_groups(actor=make_user(role="grid_worker", node="community"))
    assert [(g["kind"], g["node"], g["count"]) for g in groups] == [
        ("control_missed", "第一网格", 7),
        ("control_missed", "第二网格", 3),
        ("control_fever", "第一网格", 1),
    ]


def test_acknowledge_a_group(make_user, flood, tree):
    user = make_user(role="grid_worker", node="grid_a")
    n = alert_group_acknowledge(
        actor=user, kind="control_missed", jurisdiction_path=tree["grid_a"].path
    )
    assert n == 7
    assert Alert.objects.filter(acknowledged_at__isnull=True).count() == 5
    assert Alert.objects.filter(acknowledged_by=user).count() == 7
    entry = AuditEntry.objects.get(object_type="common.alert", actor=user)
    assert entry.changes["acknowledged"] == [None, 7]


def test_group_outside_the_subtree_is_not_found(make_user, flood, tree):
    user = make_user(role="grid_worker", node="grid_a")
    with pytest.raises(DomainError) as exc:
        alert_group_acknowledge(
            actor=user, kind="control_missed", jurisdiction_path=tree["grid_b"].path
        )
    assert exc.value.code == "not_found"
    assert Alert.objects.filter(acknowledged_at__isnull=False).count() == 0


def test_auditor_may_not_acknowledge(make_user, flood, tree):
    with pytest.raises(DomainError) as exc:
        alert_group_acknowledge(
            actor=make_user(role="auditor", node="city"),
            kind="control_missed",
            jurisdiction_path=tree["grid_a"].path,
        )
    assert exc.value.code == "forbidden"


def test_alert_page_shows_groups_and_acknowledges_one(client, make_user, flood, tree):
    client.force_login(make_user(role="grid_worker", node="community"))
    body = client.get("/alerts/").content.decode()
    assert "第一网格" in body and ">7<" in body and "钞库街" not in body
    response = client.post(
        "/alerts/groups/acknowledge/",
        {"kind": "control_missed", "path": tree["grid_b"].path, "next": "/alerts/"},
    )
    assert response.status_code == 302
    assert (
        Alert.objects.filter(
            jurisdiction_path=tree["grid_b"].path, acknowledged_at__isnull=True
        ).count()
        == 0
    )
    # The other district's group: 404, nothing acknowledged.
    response = client.post(
        "/alerts/groups/acknowledge/", {"kind": "control_missed", "path": tree["grid_c"].path}
    )
    assert response.status_code == 404
    assert Alert.objects.get(jurisdiction_path=tree["grid_c"].path).acknowledged_at is None
    # One row per alert on demand.
    body = client.get("/alerts/?status=open&view=list").content.decode()
    assert body.count('class="level-') == 8


def test_api_lists_groups_within_the_subtree_and_acknowledges_one(make_user, flood, tree):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(make_user(role="grid_worker", node="community"))
    with CaptureQueriesContext(connection) as queries:
        listed = api.get("/api/v1/alerts/groups/")
    # The groups in one aggregate and their node names in one more, whatever the count.
    assert listed.status_code == 200 and len(queries) <= 3
    body = listed.json()
    assert body["count"] == 3
    assert [(g["kind"], g["node"], g["node_name"], g["count"]) for g in body["results"]] == [
        ("control_missed", "320102001001G01", "第一网格", 7),
        ("control_missed", "320102001001G02", "第二网格", 3),
        ("control_fever", "320102001001G01", "第一网格", 1),
    ]
    assert body["results"][0]["path"] == tree["grid_a"].path
    only = api.get("/api/v1/alerts/groups/", {"kind": "control_fever"}).json()
    assert [(g["kind"], g["count"]) for g in only["results"]] == [("control_fever", 1)]

    done = api.post(
        "/api/v1/alerts/groups/acknowledge/",
        {"kind": "control_missed", "path": tree["grid_b"].path},
        format="json",
    )
    assert done.status_code == 200
    assert done.json() == {"kind": "control_missed", "path": tree["grid_b"].path, "acknowledged": 3}
    assert [g["count"] for g in api.get("/api/v1/alerts/groups/").json()["results"]] == [7, 1]
    # Again: nothing open is left in that group, 404 with the stable code.
    again = api.post(
        "/api/v1/alerts/groups/acknowledge/",
        {"kind": "control_missed", "path": tree["grid_b"].path},
        format="json",
    )
    assert (again.status_code, again.json()["code"]) == (404, "not_found")
    # The other district's group: 404, and it is not in the list.
    outside = api.post(
        "/api/v1/alerts/groups/acknowledge/",
        {"kind": "control_missed", "path": tree["grid_c"].path},
        format="json",
    )
    assert outside.status_code == 404
    assert Alert.objects.get(jurisdiction_path=tree["grid_c"].path).acknowledged_at is None
    missing = api.post("/api/v1/alerts/groups/acknowledge/", {"kind": "x"}, format="json")
    assert missing.status_code == 400
    auditor = APIClient()
    auditor.force_authenticate(make_user(role="auditor", node="city"))
    refused = auditor.post(
        "/api/v1/alerts/groups/acknowledge/",
        {"kind": "control_missed", "path": tree["grid_a"].path},
        format="json",
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


def test_a_page_of_groups_is_cut_by_the_database_and_equals_the_whole_list(make_user, flood):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fangkong.common.alerts import alert_groups_page

    user = make_user(role="grid_worker", node="city")
    everything = alert_groups(actor=user)
    pages = [alert_groups_page(actor=user, number=n, per_page=2) for n in (1, 2)]
    assert [g for page in pages for g in page.object_list] == everything
    assert pages[0].paginator.num_pages == 2 and pages[1].has_previous()
    with CaptureQueriesContext(connection) as ctx:
        alert_groups_page(actor=user, number=1, per_page=2)
    grouped = [q["sql"] for q in ctx.captured_queries if "GROUP BY" in q["sql"]]
    assert grouped and all("LIMIT" in q or "COUNT(*)" in q for q in grouped)
    names = [q["sql"] for q in ctx.captured_queries if "geo_jurisdiction" in q["sql"]]
    assert len(names) == 1


def test_the_alert_centre_shows_the_same_groups_by_page(client, make_user, flood):
    client.force_login(make_user(role="grid_worker", node="city"))
    groups = client.get("/alerts/").context["groups"]
    assert [(g["kind"], g["count"]) for g in groups] == [
        ("control_missed", 7),
        ("control_missed", 3),
        ("control_fever", 1),
        ("control_missed", 1),
    ]
