"""A grid worker in a basement: the phone page goes offline, three visits are recorded on the
phone, the network comes back and they are synced once; a household re-assigned meanwhile is
shown as a conflict, not lost."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from fangkong.accounts.tests.factories import UserFactory
from fangkong.control.presets import policy_presets_ensure
from fangkong.geo.tests.factories import BuildingFactory, HouseholdFactory
from fangkong.people.tests.factories import PersonFactory
from fangkong.screening import services
from fangkong.screening.models import Assignment, GridCoverage, Visit

expect = pytest.importorskip("playwright.sync_api").expect
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_offline_visits_sync_once(page, live_server, tree):
    policy_presets_ensure()
    worker = UserFactory(username="gw", role="grid_worker", jurisdiction=tree["grid_a"])
    building = BuildingFactory(grid=tree["grid_a"], name="3号楼")
    homes = [HouseholdFactory(building=building, room=f"{i}01") for i in range(1, 6)]
    for i, home in enumerate(homes):
        for _ in range(1 + i % 2):
            PersonFactory(grid=tree["grid_a"], household=home)
    campaign = services.campaign_open(
        actor=None,
        jurisdiction=tree["district"],
        name="入户排查第一轮",
        deadline=timezone.now() + dt.timedelta(days=2),
    )
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/login/")
    page.fill("#id_username", "gw")
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("nav.sidebar >> text=入户走访")
    page.wait_for_selector("details.household >> nth=4")
    assert page.inner_text("#net") == "在线"

    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_class(re.compile("offline"))
    for room in ("101", "201", "301"):
        card = page.locator(f"details.household:has-text('{room}')")
        card.locator("summary").click()
        card.locator("button[type=submit]").click()
        expect(card).to_have_class(re.compile("pending"))
    # A fourth visit, to a household the district moves to grid B while the phone is offline.
    card = page.locator("details.household:has-text('401')")
    card.locator("summary").click()
    card.locator("button[type=submit]").click()
    expect(page.locator("#queued")).to_have_text("4")
    services.assignment_reassign(
        actor=None,
        assignment=Assignment.objects.get(pk=_assignment(campaign, "401")),
        grid=tree["grid_b"],
    )
    assert Visit.objects.count() == 0

    page.context.set_offline(False)
    expect(page.locator("#synced")).to_have_text("3")
    expect(page.locator("#queued")).to_have_text("0")
    conflict = page.locator("#conflicts li.conflict")
    assert conflict.get_attribute("data-code") == "household_reassigned"
    assert "401" in conflict.inner_text()
    assert Visit.objects.count() == 3
    assert set(Visit.objects.values_list("worker_id", flat=True)) == {worker.pk}
    row = GridCoverage.objects.get(campaign=campaign, grid=tree["grid_a"])
    assert (row.households, row.visited, row.people_seen) == (4, 3, 4)
    # Sending again (a second tap on "sync") stores nothing twice.
    page.click("#sync-now")
    page.wait_for_timeout(500)
    assert Visit.objects.count() == 3

    # Deeper in the basement: the page itself opens with no network (service worker), with the
    # worklist the phone kept (IndexedDB), and a visit recorded there syncs later.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#net")).to_have_class(re.compile("offline"))
    expect(page.locator("details.household")).to_have_count(4)
    card = page.locator("details.household:has-text('501')")
    card.locator("summary").click()
    card.locator("button[type=submit]").click()
    expect(page.locator("#queued")).to_have_text("1")
    page.context.set_offline(False)
    expect(page.locator("#synced")).to_have_text("4")
    assert Visit.objects.count() == 4


def _assignment(campaign, room) -> int:
    return Assignment.objects.get(campaign=campaign, household__room=room).pk
