"""A commander prepares and starts a drill, an epidemiologist joins it and registers a contact of
a seeded case through the real investigation page, the commander ends it: the score card."""

import pytest
from django.db import connections

from fangkong.accounts.tests.factories import UserFactory
from fangkong.control.presets import policy_presets_ensure
from fangkong.drills import routing, sandbox
from fangkong.drills.models import Drill
from fangkong.people.models import Person
from fangkong.tracing.models import Case, Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def drill_folder(settings, tmp_path):
    settings.FANGKONG_DRILL_DIR = str(tmp_path)
    # The migrated template (a minute under load) is made here once, not inside a click.
    sandbox.drop(sandbox.create(sandbox.new_name()))
    yield
    for name in Drill.objects.values_list("sandbox", flat=True):
        sandbox.drop(name)
    connections["default"].close()


def _login(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    # Each role lands on its own home (the commander's is the big screen).
    page.wait_for_url(lambda url: "/login/" not in url)


def _logout(page):
    page.click("form[action='/logout/'] button")


def test_drill_started_case_handled_score_card_shown(page, live_server, tree, drill_folder):
    policy_presets_ensure()
    UserFactory(username="chief", role="commander", jurisdiction=tree["city"])
    epi = UserFactory(username="epi", role="epidemiologist", jurisdiction=tree["district"])
    base = live_server.url

    _login(page, base, "chief")
    page.click("nav.sidebar a[href='/drills/']")
    page.fill("#id_name", "全市演练")
    page.fill("#id_population", "300")
    page.fill("#id_cases", "2")
    page.select_option("#id_participants", [str(epi.pk)])
    with page.expect_navigation(timeout=120_000):
        page.click("form.card button[type=submit]", timeout=120_000)
    drill = Drill.objects.get()
    with page.expect_navigation():
        page.click("button[name=start]")
    assert page.inner_text(".drill-status") == "进行中" or Drill.objects.get().status == "running"
    _logout(page)

    _login(page, base, "epi")
    page.click("nav.sidebar a[href='/drills/']")
    page.click(f"a[href='/drills/{drill.pk}/']")
    with page.expect_navigation():
        page.click("button[name=join]")
    assert page.locator(".drill-banner").count() == 1
    code = Drill.objects.get().injects.get(number=1).case_code
    page.click(f".inject-case a:has-text('{code}')")
    page.wait_for_selector(f"text={code}")
    with routing.active(drill.sandbox):
        case = Case.objects.get(code=code)
        neighbour = Person.objects.exclude(pk=case.person_id).order_by("id").first()
    page.goto(f"{base}/tracing/cases/{case.pk}/investigate/")
    form = page.locator("#part-contact form")
    form.locator("#id_k-id_number").fill(neighbour.document_number)
    form.locator("#id_k-last_exposure_at").fill("2026-01-01T08:00")
    with page.expect_navigation():
        form.locator("button").click()
    with routing.active(drill.sandbox):
        assert Contact.objects.filter(person_id=neighbour.pk).exists()
    assert not Contact.objects.exists()  # the live city has no contact
    _logout(page)

    _login(page, base, "chief")
    page.goto(f"{base}/drills/{drill.pk}/")
    with page.expect_navigation():
        page.click("button[name=end]")
    page.wait_for_selector("table.scorecard")
    assert Drill.objects.get().status == "ended"
    text = page.inner_text("main")
    assert Drill.objects.get().scorecard["problems"][0] in text
