"""A district HQ officer's readiness check: the page lists the gaps against the targets, one
task is dispatched from a gap in one click and then shows in the command centre's task list."""

import pytest

from fangkong.accounts.tests.factories import UserFactory
from fangkong.command.models import Task
from fangkong.control.tests.factories import make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_readiness_gap_to_task_journey(page, live_server, tree):
    district = tree["district"]
    district.population = 80_000
    district.save(update_fields=["population"])
    make_site(district, code="XW-ISO", floors=3, rooms=10)  # 30 rooms of the 160 needed
    UserFactory(username="xw_hq", role="hq_staff", jurisdiction=district)
    base = live_server.url

    page.goto(f"{base}/login/")
    page.fill("#id_username", "xw_hq")
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.click("nav.sidebar >> text=战备储备")
    page.wait_for_url(f"{base}/resumption/readiness/")
    rooms = page.locator("tr[data-key='isolation.rooms']")
    assert "gap" in rooms.get_attribute("class")
    assert "130" in rooms.inner_text()  # 20 per 10,000 of 80,000: 160 needed, 30 held
    assert page.locator("tr.gap").count() >= 5
    assert "项缺口" in page.inner_text("#gap-count")

    rooms.locator("button[type=submit]").click()
    page.wait_for_selector(".message")
    assert "任务已派发" in page.inner_text(".message")
    task = Task.objects.get()
    assert task.assignee_node_id == district.pk
    link = page.locator("tr[data-key='isolation.rooms'] a")
    assert link.get_attribute("href") == f"/command/tasks/{task.pk}/"

    page.click("nav.sidebar >> text=任务")
    page.wait_for_selector(f"text={task.title}")
    assert "隔离房间" in task.title and "玄武区" in task.title
