"""A visitor scans a venue code on a phone: enters with a mobile number, comes back and enters
with one tap (the same visit, recorded once), leaves; a closed place says so on the same page."""

import pytest

from fangkong.places import scans, services
from fangkong.places.models import Scan
from fangkong.places.tests.factories import city_of_two, make_place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    blocked = []
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda e: blocked.append(f"page error: {e}"))
    yield page
    context.close()
    assert blocked == []


def test_a_visitor_scans_a_venue_code_on_a_phone(phone, live_server):
    scans._places.clear()
    _city, a, _b = city_of_two()
    market = make_place(a.community, name_en="Hongshan Farmers' Market")
    noodles = make_place(a.community, name="梅园面馆", kind="restaurant")
    visitor = a.people[0].phone
    masked = visitor[:3] + "******" + visitor[-2:]

    # What the QR code opens: the place, its number, a number field; no login.
    phone.goto(f"{live_server.url}/v/{market.token}/")
    assert phone.inner_text(".top h1") == "红山农贸市场"
    assert market.code in phone.inner_text(".top")
    assert phone.locator("#one-tap").count() == 0
    phone.fill("#number", visitor)
    phone.tap("#enter")
    phone.wait_for_selector("#pass")
    assert "已登记" in phone.inner_text("#pass") or "Entry recorded" in phone.inner_text("#pass")
    assert masked in phone.inner_text("#pass") and visitor not in phone.content()

    # Scanning again on the same phone: one tap, and the visit is not recorded twice.
    phone.goto(f"{live_server.url}/v/{market.token}/")
    assert masked in phone.inner_text("#one-tap >> xpath=..")
    phone.tap("#one-tap")
    phone.wait_for_selector("#pass")
    assert Scan.objects.filter(place=market).count() == 1

    # Leaving is optional, one tap too.
    phone.tap("#leave")
    phone.wait_for_selector("#left-page")
    assert "离场已登记" in phone.inner_text("#left-page")
    assert Scan.objects.get(place=market).left_at is not None

    # A place closed by a risk area says so at the door.
    services.place_order_issue(actor=None, place=noodles, measure="closed", reason="中风险区")
    phone.goto(f"{live_server.url}/v/{noodles.token}/")
    assert "暂停营业" in phone.inner_text("#status") and "中风险区" in phone.inner_text("#status")
    box = phone.locator("#status").bounding_box()
    assert box is not None and box["width"] <= 390
