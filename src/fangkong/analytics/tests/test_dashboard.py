"""The HQ dashboard and situation pages: figures, change from yesterday, map, scope, Chinese."""

import datetime as dt

import plotly
import pytest
from django.utils import timezone

from fangkong.analytics import dashboard, outlines
from fangkong.command import services as command
from fangkong.command.tests.factories import CaseFactory
from fangkong.common.alerts import alert_raise
from fangkong.control.tests.factories import make_site, open_order
from fangkong.geo.models import Jurisdiction


@pytest.fixture
def city(tree, people, make_user):
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)
    CaseFactory(person=people["a"][0], report_date=today)
    CaseFactory(person=people["a"][1], report_date=today, classification="asymptomatic")
    CaseFactory(
        person=people["c"][0],
        report_date=yesterday,
        found_by="under_control",
        under_control_when_found=True,
    )
    make_site(tree["street"], code="S1", floors=1, rooms=4)
    open_order(people["b"][0])
    commander = make_user(role="commander", node="city")
    command.task_dispatch(
        actor=commander,
        title="夜间巡查卡口",
        deadline=timezone.now() - dt.timedelta(hours=3),
        node=tree["grid_a"],
    )
    alert_raise(kind="test", title="隔离点房间紧张", jurisdiction_path=tree["street"].path)
    alert_raise(kind="test", title="秦淮区试剂不足", jurisdiction_path=tree["district2"].path)
    outlines.outlines_generate()
    return {"commander": commander, "today": today}


def test_dashboard_figures_and_change_from_yesterday(tree, city):
    data = dashboard.dashboard_data(actor=city["commander"], node=tree["city"], today=city["today"])
    tiles = {t["key"]: t for t in data["tiles"]}
    assert (tiles["cases_confirmed"]["value"], tiles["cases_confirmed"]["delta"]) == (1, 0)
    assert (tiles["cases_asymptomatic"]["value"], tiles["cases_asymptomatic"]["delta"]) == (1, 1)
    assert tiles["cases_asymptomatic"]["tone"] == "bad"
    assert (tiles["cases_community"]["value"], tiles["cases_community"]["delta"]) == (2, 2)
    assert tiles["rooms_free"]["value"] == 4 and tiles["control_total"]["value"] == 1
    assert tiles["tasks_overdue"]["value"] == 1
    assert tiles["beds_free"]["value"] is None  # until care plugs in its provider
    assert data["overdue_count"] == 1 and data["alerts_count"] == 2
    assert data["curve"]["data"][0]["y"][-2:] == [1, 0]  # under control: yesterday's one
    assert data["curve"]["data"][1]["y"][-2:] == [0, 2]  # community: today's two
    assert [c["name"] for c in data["children"]] == ["玄武区", "秦淮区"]
    assert [c["cases_7d"] for c in data["children"]] == [2, 1]
    polygons = [t for t in data["map"]["data"] if t.get("fill") == "toself"]
    assert [p["customdata"] for p in polygons] == [["320102"], ["320104"]]
    assert polygons[0]["fillcolor"] == dashboard.COLOURS[4]
    # The district sees its own alerts only.
    district = dashboard.dashboard_data(
        actor=city["commander"], node=tree["district2"], today=city["today"]
    )
    assert [a.title for a in district["alerts"]] == ["秦淮区试剂不足"]
    assert district["overdue_count"] == 0


def test_outlines_are_deterministic_and_share_edges(tree):
    assert outlines.outlines_generate() > 0
    first = {j.code: j.outline for j in Jurisdiction.objects.exclude(outline=None)}
    assert outlines.outlines_generate() == 0
    assert outlines.outlines_generate(overwrite=True) == len(first)
    again = {j.code: j.outline for j in Jurisdiction.objects.exclude(outline=None)}
    assert again == first
    assert set(first) >= {"320100", "320102", "320104", "320102001", "320102001001"}
    west = first["320102"]["coordinates"][0]
    east = first["320104"]["coordinates"][0]
    # Side by side: the first district's eastern edge is the second's western edge.
    assert {tuple(west[1]), tuple(west[2])} == {tuple(east[0]), tuple(east[3])}


def test_pages_render_in_chinese(client, tree, city):
    client.force_login(city["commander"])
    page = client.get("/analytics/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "南京市疫情防控指挥大屏" in html
    assert "较昨日" in html and "新增确诊病例" in html
    assert f"/analytics/plotly-{plotly.__version__}.min.js" in html
    assert 'hx-trigger="every 60s"' in html
    assert "夜间巡查卡口" in html and "隔离点房间紧张" in html
    panel = client.get("/analytics/panel/?node=320102")
    assert panel.status_code == 200 and "curve-data" in panel.content.decode()
    situation = client.get("/analytics/situation/?node=320100")
    assert situation.status_code == 200
    assert "形势研判" in situation.content.decode()
    assert "各下级 Rt" in situation.content.decode()


def test_scope_of_the_pages(client, tree, city, make_user):
    other = make_user(role="hq_staff", node="district2")
    client.force_login(other)
    assert client.get("/analytics/?node=320102").status_code == 404
    assert client.get("/analytics/panel/?node=320100").status_code == 404
    assert client.get("/analytics/situation/?node=320102").status_code == 404
    page = client.get("/analytics/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "秦淮区疫情防控指挥大屏" in html
    assert "隔离点房间紧张" not in html and "秦淮区试剂不足" in html


def test_plotly_is_served_from_the_package(client, tree, city):
    client.force_login(city["commander"])
    response = client.get(f"/analytics/plotly-{plotly.__version__}.min.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript"
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()
    assert "max-age=31536000" in response["Cache-Control"]
    assert client.get("/analytics/plotly-0.0.1.min.js").status_code == 404


def test_api_endpoints_and_scope(tree, city, make_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(city["commander"])
    body = client.get("/api/v1/analytics/dashboard/?node=320102").json()
    assert body["node"] == "320102"
    tiles = {t["key"]: t["value"] for t in body["tiles"]}
    assert tiles["cases_confirmed"] == 1 and tiles["cases_asymptomatic"] == 1
    assert body["open_alerts"] == 1 and body["overdue_tasks"] == 1
    situation = client.get("/api/v1/analytics/situation/").json()
    assert situation["node"] == "320100" and len(situation["dates"]) == 60
    assert situation["cases"][-2:] == [1, 2]
    other = APIClient()
    other.force_authenticate(make_user(role="hq_staff", node="district2"))
    assert other.get("/api/v1/analytics/dashboard/?node=320102").status_code == 404
    assert other.get("/api/v1/analytics/situation/?node=320100").status_code == 404
    own = other.get("/api/v1/analytics/dashboard/").json()
    assert own["node"] == "320104" and own["open_alerts"] == 1


def test_outlines_command(tree):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("analytics", "outlines", stdout=out)
    assert (
        out.getvalue().strip()
        == f"{Jurisdiction.objects.exclude(level__in=['province', 'grid']).count()} outlines set"
    )


def test_home_page_leads_commanders_to_the_dashboard(client, tree, city, make_user):
    # The commander's home is the big screen itself (issue 16); a grid worker's has no way there.
    client.force_login(city["commander"])
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/analytics/"
    client.force_login(make_user(node="grid_a"))
    assert 'href="/analytics/"' not in client.get("/").content.decode()


def test_figures_are_reused_for_one_refresh_period(tree, city, people, settings):
    first = dashboard.dashboard_data(
        actor=city["commander"], node=tree["city"], today=city["today"]
    )
    CaseFactory(person=people["a"][2], report_date=city["today"])
    cached = dashboard.dashboard_data(
        actor=city["commander"], node=tree["city"], today=city["today"]
    )
    assert cached["figures"]["cases_confirmed"] == first["figures"]["cases_confirmed"] == 1
    settings.FANGKONG_DASHBOARD_CACHE_SECONDS = 0
    fresh = dashboard.dashboard_data(
        actor=city["commander"], node=tree["city"], today=city["today"]
    )
    assert fresh["figures"]["cases_confirmed"] == 2


def test_dashboard_queries_do_not_grow_with_the_children(tree, city, people):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from fangkong.geo.tests.factories import JurisdictionFactory

    def count():
        with CaptureQueriesContext(connection) as queries:
            dashboard.dashboard_data(
                actor=city["commander"], node=tree["city"], today=city["today"]
            )
        return len(queries)

    before = count()
    for n in range(3):
        JurisdictionFactory(
            code=f"32011{n}", level="district", name=f"新区{n}", parent=tree["city"]
        )
    outlines.outlines_generate(overwrite=True)
    from django.core.cache import cache

    cache.clear()
    assert count() == before
