"""A working day per role (issue 16): each journey starts at the role's home, does the role's
main job from there, and keeps a screenshot under var/ci-artifacts/screenshots/<role>.png.

The grid worker and the sampler work on a phone-sized screen; the isolation desk checks a walk-in
into a room from the room board."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from fangkong.accounts.tests.factories import UserFactory
from fangkong.control.models import ControlOrder
from fangkong.control.presets import policy_presets_ensure
from fangkong.control.tests.factories import make_site
from fangkong.testing.models import Round
from fangkong.testing.services import round_create
from fangkong.tracing import services as tracing
from fangkong.tracing.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "ci-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def city(people, tree):
    # A transactional test before this one may have flushed the presets the migration loaded.
    policy_presets_ensure()
    case = tracing.case_open(
        actor=None, person=people["a"][0], classification="confirmed", colocate=False
    )
    lead = tracing.contact_add(
        actor=None,
        person=people["a"][1],
        source_case=case,
        setting="household",
        last_exposure_at=timezone.now() - dt.timedelta(hours=6),
    )
    round_ = round_create(actor=None, code="R1", name="第一轮", scope=[tree["district"]])
    Round.objects.filter(pk=round_.pk).update(status="open")
    site = make_site(tree["grid_a"], code="HOTEL1", rooms=4)
    return {"case": case, "lead": lead, "round": round_, "site": site, **people}


def start_day(page, live_server, tree, role, node="district", phone=False):
    UserFactory(username=role, role=role, jurisdiction=tree[node])
    if phone:
        page.set_viewport_size(PHONE)
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", role)
    page.fill("#id_password", "pass-1234")
    with page.expect_navigation():
        page.click("button[type=submit]")
    return base


def shot(page, role):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{role}.png"), full_page=True)


def test_grid_worker_verifies_a_lead_from_the_home(page, live_server, tree, city):
    start_day(page, live_server, tree, "grid_worker", node="grid_a", phone=True)
    panel = page.locator("#panel-leads")
    assert panel.locator("b").first.inner_text() == "1"
    shot(page, "grid_worker")
    with page.expect_navigation():
        panel.locator(f"a:has-text('{city['lead'].person.name}')").click()
    card = page.locator(f".lead:has-text('{city['lead'].person.name}')")
    with page.expect_navigation():
        card.locator("button[value=verify]").click()
    assert Contact.objects.get(pk=city["lead"].pk).state == "verified"


def test_sampler_opens_an_untested_person_from_the_home(page, live_server, tree, city):
    start_day(page, live_server, tree, "sampler", phone=True)
    assert page.locator("#panel-desk").is_visible()
    shot(page, "sampler")
    with page.expect_navigation():
        page.click("#panel-untested >> text=打开未检名单")
    person = page.locator("table a").first
    name = person.inner_text()
    with page.expect_navigation():
        person.click()
    assert name in page.inner_text("h1")


def test_isolation_staff_checks_a_walk_in_into_a_room(page, live_server, tree, city):
    base = start_day(page, live_server, tree, "isolation_staff", node="community")
    with page.expect_navigation():
        page.click("#panel-rooms >> text=Site HOTEL1")
    with page.expect_navigation():
        page.click("a.room.vacant >> nth=1")
    walk_in = city["b"][0]
    page.fill("#walkin-q", walk_in.name)
    with page.expect_navigation():
        page.click("#room-panel button:has-text('搜索'), #room-panel button[type=submit] >> nth=0")
    row = page.locator(f".walk-in-results tr:has-text('{walk_in.name}')")
    row.locator("select[name=category]").select_option("close_contact")
    with page.expect_navigation():
        row.locator("button:has-text('在此入住')").click()
    assert "已入住" in page.inner_text(".message")
    order = ControlOrder.objects.get(person=walk_in, status="open")
    assert order.room is not None and order.room.state == "occupied"
    assert walk_in.name in page.inner_text(f"a.room[data-room='{order.room.number}']")
    shot(page, "isolation_staff")
    assert page.url.startswith(f"{base}/control/sites/")


def test_commander_lands_on_the_big_screen(page, live_server, tree, city):
    base = start_day(page, live_server, tree, "commander", node="city")
    assert page.url == f"{base}/analytics/"
    shot(page, "commander")


@pytest.mark.parametrize(
    "role,node,panel,expected_path",
    [
        ("hq_staff", "district", "#panel-tasks", "/command/"),
        ("epidemiologist", "city", "#panel-cases", "/tracing/cases/"),
        ("lab_staff", "district", "#panel-lab", "/testing/lab/"),
        ("hospital_staff", "district", "#panel-beds", "/care/"),
        ("checkpoint_staff", "district", "#panel-checkpoint", "/checkpoints/"),
        ("supply_officer", "city", "#panel-requests", "/supplies/requests/"),
        ("inspector", "city", "#panel-findings", "/command/inspections/"),
        ("auditor", "city", "#panel-audit", "/audit/"),
    ],
)
def test_role_goes_from_its_home_to_its_work(
    page, live_server, tree, city, role, node, panel, expected_path
):
    base = start_day(page, live_server, tree, role, node=node)
    assert page.url == f"{base}/"
    shot(page, role)
    with page.expect_navigation():
        page.locator(f"{panel} a").first.click()
    assert page.url.startswith(f"{base}{expected_path}")
    assert page.locator("main h1").count() >= 1
