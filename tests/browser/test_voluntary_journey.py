"""A resident on a phone: book a voluntary test, see the QR code, then look up the result with
the code the text message brought (the default sender's outbox)."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from fangkong.geo.tests.factories import JurisdictionFactory
from fangkong.people.tests.factories import PersonFactory
from fangkong.testing import services as testing
from fangkong.testing.tests.factories import LabFactory, SiteFactory, make_round
from fangkong.voluntary import services, sms
from fangkong.voluntary.models import Booking, Slot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resident_books_sees_qr_and_looks_up_the_result(page, live_server):
    city = JurisdictionFactory(code="320100", level="city", name="南京市")
    district = JurisdictionFactory(code="320102", level="district", name="玄武区", parent=city)
    grid = JurisdictionFactory(code="320102001G1", level="grid", parent=district)
    site = SiteFactory(
        code="XW-S1", name="玄武门采样点", jurisdiction=district, address="玄武门广场"
    )
    person = PersonFactory(grid=grid, name="王小明")
    services.schedule_set(actor=None, site=site, opens=dt.time(0, 0), closes=dt.time(23, 59))
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    slot = Slot.objects.create(
        site=site, jpath=site.jpath, day=tomorrow, starts=dt.time(9), ends=dt.time(10), capacity=5
    )
    # Yesterday the resident was sampled at the same site and the pool came back negative.
    round_ = make_round("R1", city)
    yesterday = timezone.now() - dt.timedelta(days=1)
    scan = testing.tube_scan(
        actor=None, round_=round_, barcode="T1", site=site, person=person, at=yesterday
    )
    tube = testing.tube_close(actor=None, tube=scan.tube)
    testing.result_record(
        actor=None, tube=tube, result="negative", lab=LabFactory(jurisdiction=city)
    )
    sms.outbox.clear()

    base = live_server.url
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/voluntary/")
    page.click("text=预约检测")
    page.click(f"a[href='?day={tomorrow.isoformat()}']")
    page.wait_for_selector("text=玄武门采样点")
    page.check(f"input[name=slot][value='{slot.pk}']")
    page.fill("input[name=id_number]", person.document_number)
    page.fill("input[name=name]", person.name)
    page.click("button:text-is('预约')")
    page.wait_for_url(f"{base}/voluntary/mine/")
    page.wait_for_selector("div.qr svg")
    box = page.locator("div.qr svg").bounding_box()
    assert box["width"] >= 200 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    booking = Booking.objects.get()
    assert booking.person_id == person.pk and booking.slot_id == slot.pk
    slot.refresh_from_db()
    assert slot.booked == 1

    page.click("text=我的结果")
    page.fill("input[name=id_number]", person.document_number)
    page.click("button:text-is('发送验证码')")
    page.wait_for_selector("input[name=code]")
    assert sms.outbox[-1][0] == person.phone
    code = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", sms.outbox[-1][1]).group(1)
    page.fill("input[name=code]", code)
    page.click("button:text-is('查看结果')")
    page.wait_for_selector("td[data-status=negative]")
    assert page.inner_text("td[data-status=negative]") == "阴性"
    assert "玄武门采样点" in page.inner_text("table.results")
