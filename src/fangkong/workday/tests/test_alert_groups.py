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
