"""The alert centre through the API and the page: scope, filters, acknowledgement."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from fangkong.audit.models import AuditEntry
from fangkong.common.alerts import alert_raise
from fangkong.common.models import Alert


@pytest.fixture
def alerts(tree):
    return {
        "a": alert_raise(
            kind="pool_positive",
            title="阳性混管 T001",
            level=Alert.Level.CRITICAL,
            jurisdiction_path=tree["grid_a"].path,
        ),
        "a_missed": alert_raise(
            kind="control_missed", title="漏报健康监测", jurisdiction_path=tree["grid_a"].path
        ),
        "b": alert_raise(
            kind="control_missed", title="第二网格漏报", jurisdiction_path=tree["grid_b"].path
        ),
        "c": alert_raise(
            kind="transfer_lost", title="转运超时", jurisdiction_path=tree["grid_c"].path
        ),
    }


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_lists_only_the_subtree_and_filters(make_user, alerts):
    worker = client_for(make_user(node="grid_a"))
    rows = worker.get("/api/v1/alerts/").json()["results"]
    assert sorted(r["title"] for r in rows) == sorted(["阳性混管 T001", "漏报健康监测"])
    rows = worker.get("/api/v1/alerts/?kind=control_missed").json()["results"]
    assert [r["title"] for r in rows] == ["漏报健康监测"]
    commander = client_for(make_user(role="commander", node="city"))
    assert len(commander.get("/api/v1/alerts/").json()["results"]) == 4
    district = client_for(make_user(role="hq_staff", node="district"))
    assert len(district.get("/api/v1/alerts/").json()["results"]) == 3


def test_api_object_outside_subtree_is_404(make_user, alerts):
    worker = client_for(make_user(node="grid_a"))
    assert worker.get(f"/api/v1/alerts/{alerts['b'].pk}/").status_code == 404
    assert worker.post(f"/api/v1/alerts/{alerts['b'].pk}/acknowledge/").status_code == 404
    assert Alert.objects.get(pk=alerts["b"].pk).acknowledged_at is None
    detail = worker.get(f"/api/v1/alerts/{alerts['a'].pk}/").json()
    assert detail["level"] == "critical" and detail["kind_label"] == "混管阳性"


def test_api_acknowledge_is_audited_and_leaves_the_open_list(make_user, alerts):
    user = make_user(node="grid_a", username="chen")
    worker = client_for(user)
    response = worker.post(f"/api/v1/alerts/{alerts['a'].pk}/acknowledge/")
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "chen"
    open_rows = worker.get("/api/v1/alerts/?open=true").json()["results"]
    assert [r["title"] for r in open_rows] == ["漏报健康监测"]
    entry = AuditEntry.objects.get(object_type="common.alert", object_id=str(alerts["a"].pk))
    assert entry.actor_username == "chen"


def test_api_list_query_count_is_flat(make_user, tree):
    for i in range(30):
        alert_raise(kind="k", title=f"t{i}", jurisdiction_path=tree["grid_a"].path)
    worker = client_for(make_user(node="grid_a"))
    with CaptureQueriesContext(connection) as ctx:
        assert worker.get("/api/v1/alerts/").status_code == 200
    assert len(ctx.captured_queries) <= 4


def test_page_shows_open_alerts_in_chinese_and_acknowledges(client, make_user, alerts):
    user = make_user(node="grid_a")
    client.force_login(user)
    page = client.get("/alerts/?view=list").content.decode()  # one row per alert
    assert "告警中心" in page
    assert "阳性混管 T001" in page and "漏报健康监测" in page
    assert "混管阳性</td>" in page and "未按时健康监测 (1)" in page  # kinds by their labels
    assert "第二网格漏报" not in page and "转运超时" not in page
    response = client.post(f"/alerts/{alerts['a'].pk}/acknowledge/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="alert-{alerts["a"].pk}"' in response.content.decode()
    page = client.get("/alerts/?view=list").content.decode()
    assert "阳性混管 T001" not in page
    assert "阳性混管 T001" in client.get("/alerts/?status=all").content.decode()
    assert client.post(f"/alerts/{alerts['b'].pk}/acknowledge/").status_code == 404
