"""The voluntary-testing part of the demo, on a small synthetic city after mass testing's."""

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from fangkong.people.demo import demo_logins_ensure
from fangkong.testing import demo as testing_demo
from fangkong.testing.models import Sample
from fangkong.voluntary import demo
from fangkong.voluntary.models import Booking, Schedule, Slot


@pytest.fixture
def story(db):
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    demo_logins_ensure()
    testing_demo.testing_demo(io.StringIO(), 7)
    out = io.StringIO()
    demo.voluntary_demo(out, 7)
    return out.getvalue()


def test_slots_bookings_and_qr_samples(story):
    today = timezone.localdate()
    assert Schedule.objects.count() == 3
    assert Slot.objects.filter(day=today).count() == 30  # 3 sites, 08:00-18:00 hourly
    assert Slot.objects.filter(day=today + timezone.timedelta(days=1)).count() == 30
    assert Booking.objects.count() == 3 * (demo.BOOKED_TODAY + demo.BOOKED_TOMORROW)
    assert Booking.objects.filter(status="cancelled").count() == 3
    sampled = Booking.objects.filter(status="sampled")
    # Before 08:05 nobody has arrived yet; later, eight per site were scanned by QR code.
    assert sampled.count() in range(0, 3 * demo.SAMPLED_TODAY + 1)
    for booking in sampled:
        sample = Sample.objects.get(person=booking.person, tube__barcode=booking.tube_barcode)
        assert sample.tube.site_id == booking.site_id
    assert "愿检尽检: 3 个采样点" in story and "/voluntary/results/" in story


def test_running_again_adds_nothing(story):
    before = (Booking.objects.count(), Slot.objects.count(), Sample.objects.count())
    out = io.StringIO()
    demo.voluntary_demo(out, 7)
    assert "已存在" in out.getvalue()
    assert (Booking.objects.count(), Slot.objects.count(), Sample.objects.count()) == before


def test_at_noon_the_morning_bookings_were_sampled_by_qr_and_reported(db, monkeypatch):
    import datetime as dt

    noon = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(12, 0)))
    monkeypatch.setattr(timezone, "now", lambda: noon)
    call_command("synth", population=3000, seed=7, stdout=io.StringIO())
    demo_logins_ensure()
    testing_demo.testing_demo(io.StringIO(), 7)
    demo.voluntary_demo(io.StringIO(), 7)
    sampled = Booking.objects.filter(status="sampled").select_related("person")
    assert sampled.count() == 3 * demo.SAMPLED_TODAY
    for booking in sampled:
        sample = Sample.objects.select_related("tube").get(
            person=booking.person, tube__barcode=booking.tube_barcode
        )
        assert (sample.tube.site_id, sample.tube.result) == (booking.site_id, "negative")
    # The demo resident can look their result up.
    from fangkong.voluntary import services

    resident = demo._resident(demo.demo_nodes())
    lines = services.person_results(resident)
    assert lines and lines[0].status == "negative"
