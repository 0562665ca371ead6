"""A grid worker on a phone works the lead list; an epidemiologist sees the chain picture."""

import datetime as dt

import pytest

from fangkong.accounts.tests.factories import UserFactory
from fangkong.control.presets import policy_presets_ensure
from fangkong.tracing import services
from fangkong.tracing.models import Contact, LeadState
from fangkong.tracing.services import LOCAL

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_grid_worker_and_epidemiologist(page, live_server, people, tree):
    # A transactional test before this one may have flushed the presets the migration loaded.
    policy_presets_ensure()
    UserFactory(username="gw", role="grid_worker", jurisdiction=tree["grid_a"])
    UserFactory(username="epi", role="epidemiologist", jurisdiction=tree["city"])
    exposed = dt.datetime(2022, 4, 11, 18, tzinfo=LOCAL)
    case = services.case_open(
        actor=None, person=people["b"][0], classification="confirmed", colocate=False
    )
    services.exposure_add(
        actor=None,
        case=services.case_open(
            actor=None, person=people["c"][0], classification="asymptomatic", colocate=False
        ),
        setting="venue",
        source_case=case,
    )
    one, two = (
        services.contact_add(
            actor=None, person=p, source_case=case, setting="venue", last_exposure_at=exposed
        )
        for p in people["a"][1:3]
    )
    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(f"{base}/login/")
    page.fill("#id_username", "gw")
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.click("nav.sidebar >> text=线索核查清单")
    page.wait_for_selector(f".lead:has-text('{one.person.name}')")
    with page.expect_navigation():
        page.click(f".lead:has-text('{one.person.name}') >> button[value=verify]")
    card = page.locator(f".lead:has-text('{two.person.name}')")
    card.locator("input[name=reason]").fill("当时在外地出差")
    with page.expect_navigation():
        card.locator("button[value=exclude]").click()
    assert Contact.objects.get(pk=one.pk).state == LeadState.VERIFIED
    assert Contact.objects.get(pk=two.pk).excluded_reason == "当时在外地出差"
    with page.expect_navigation():
        page.click(f".lead:has-text('{one.person.name}') >> button[value=control]")
    assert "已管控" in page.inner_text(".message")
    assert Contact.objects.get(pk=one.pk).control_order_id is not None

    page.click("form[action='/logout/'] button")
    page.goto(f"{base}/login/")
    page.fill("#id_username", "epi")
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/tracing/chains/")
    # Plotly comes from the installed package and draws the two linked cases.
    page.wait_for_selector("#network .main-svg")
    assert page.locator("#network .point").count() == 2
