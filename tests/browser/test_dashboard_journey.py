"""A commander's morning: the HQ dashboard draws its curve, Rt and map offline, drills into a
district from the map, refreshes itself, and the bulletin goes from draft to published."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.accounts.tests.factories import UserFactory
from fangkong.analytics import outlines
from fangkong.command.tests.factories import CaseFactory
from fangkong.people.tests.factories import PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_commander_dashboard_journey(page, live_server, tree, settings):
    settings.FANGKONG_BULLETIN_PDF = False
    settings.FANGKONG_DASHBOARD_CACHE_SECONDS = 0
    UserFactory(username="commander", role="commander", jurisdiction=tree["city"])
    today = timezone.localdate()
    for back in range(20):
        for _ in range(3 if back < 8 else 1):
            CaseFactory(
                person=PersonFactory(grid=tree["grid_a"] if back % 3 else tree["grid_c"]),
                report_date=today - dt.timedelta(days=back),
            )
    outlines.outlines_generate()
    base = live_server.url
    # No request may leave the test server: the charts work offline.
    outside = []
    page.on(
        "request",
        lambda request: outside.append(request.url) if not request.url.startswith(base) else None,
    )

    page.goto(f"{base}/login/")
    page.fill("#id_username", "commander")
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    # The commander's home is the big screen (issue 16: each role starts at its day's work).
    page.wait_for_url(f"{base}/analytics/")
    page.wait_for_selector("h1:has-text('南京市疫情防控指挥大屏')")

    # Plotly drew the curve (bars and the Rt line) and the map (one filled shape per district).
    page.wait_for_selector("#curve-chart .main-svg")
    assert page.locator("#curve-chart g.barlayer path").count() > 0
    assert page.locator("#curve-chart g.scatterlayer .trace").count() >= 3
    page.wait_for_selector("#map-chart .main-svg")
    assert page.locator("#map-chart g.scatterlayer .trace").count() >= 2
    confirmed = page.inner_text(".tile[data-key='cases_confirmed'] b")
    assert confirmed == "3"

    # The panel refreshes itself (htmx polling): trigger it now instead of waiting a minute.
    before = page.inner_text("#refreshed")
    page.evaluate(
        "htmx.ajax('GET', document.querySelector('#panel').getAttribute('hx-get'), '#panel')"
    )
    page.wait_for_function(
        "() => document.querySelector('#refreshed') && document.querySelector('#map-chart .main-svg')"
    )
    assert page.inner_text("#refreshed").startswith(before[:10])

    # Drill down from the map: click the first district's shape.
    # Plotly takes clicks on its drag layer above the shapes: click where the name is drawn.
    box = page.locator("#map-chart g.scatterlayer text:has-text('玄武区')").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(f"{base}/analytics/?node=320102")
    page.wait_for_selector("h1:has-text('玄武区疫情防控指挥大屏')")
    page.wait_for_selector("#map-chart .main-svg")

    # Situation analysis for the city: the Rt curve and the forecast band.
    page.goto(f"{base}/analytics/situation/?node=320100")
    page.wait_for_selector("#curve-chart .main-svg")
    page.wait_for_selector("#forecast-chart .main-svg")
    assert "预计用尽日期" in page.content()

    # The bulletin: generate the draft, approve and publish, then open the print page.
    page.goto(f"{base}/command/bulletins/")
    page.click("button:has-text('根据数据生成草稿')")
    page.wait_for_selector("textarea[name=body_zh]")
    assert "新增本土确诊病例" in page.input_value("textarea[name=body_zh]")
    page.click("button:has-text('审核通过')")
    page.click("button:has-text('发布')")
    page.wait_for_selector("text=已发布")
    page.click("a.button:has-text('HTML')")
    page.wait_for_selector("h1:has-text('南京市新冠肺炎疫情通报')")
    assert outside == []
