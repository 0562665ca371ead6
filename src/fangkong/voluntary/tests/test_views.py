"""The resident's phone pages and the staff pages, through the Django test client."""

import re

from django.urls import reverse

from fangkong.audit.models import AuditEntry
from fangkong.common.masking import mask_id_number
from fangkong.testing.models import Sample
from fangkong.voluntary.models import Booking

from .conftest import book, last_code


def _book_page(client, slot, person, **extra):
    return client.post(
        reverse("voluntary:book") + f"?day={slot.day}",
        {"slot": slot.pk, "id_number": person.document_number, "name": person.name},
        **extra,
    )


def test_a_resident_books_on_the_phone_page_and_sees_the_qr_code(world, client):
    slot = world.slot(world.a, capacity=1)
    page = client.get(reverse("voluntary:book"), {"day": str(world.tomorrow)})
    assert page.status_code == 200
    text = page.content.decode()
    assert world.a.site.name in text and f'value="{slot.pk}"' in text
    assert "1 place left" in text
    person = world.a.people[0]
    done = _book_page(client, slot, person)
    assert done.status_code == 302 and done.url == reverse("voluntary:mine")
    mine = client.get(reverse("voluntary:mine"))
    booking = Booking.objects.get()
    text = mine.content.decode()
    assert "<svg" in text and 'class="qr"' in text and world.a.site.name in text
    assert person.document_number not in text
    png = client.get(reverse("voluntary:qr"), {"token": booking.token})
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    # Another phone cannot fetch that picture.
    assert (
        client.__class__().get(reverse("voluntary:qr"), {"token": booking.token}).status_code == 404
    )


def test_booking_over_capacity_is_refused_on_the_page(world, client):
    slot = world.slot(world.a, capacity=1)
    book(slot, world.a.people[0])
    full = _book_page(client, slot, world.a.people[1])
    assert full.status_code == 409
    assert 'data-code="slot_full"' in full.content.decode()
    assert "This slot is full" in full.content.decode()
    assert Booking.objects.count() == 1
    page = client.get(reverse("voluntary:book"), {"day": str(world.tomorrow)})
    assert "Full" in page.content.decode() and "disabled" in page.content.decode()


def test_cancel_on_the_page_gives_the_place_back(world, client):
    slot = world.slot(world.a, capacity=1)
    _book_page(client, slot, world.a.people[0])
    booking = Booking.objects.get()
    other = client.__class__()
    assert other.post(reverse("voluntary:mine"), {"token": booking.token}).status_code == 404
    gone = client.post(reverse("voluntary:mine"), {"token": booking.token})
    assert gone.status_code == 302
    booking.refresh_from_db()
    slot.refresh_from_db()
    assert booking.status == "cancelled" and slot.booked == 0


def test_the_sampler_page_scans_the_qr_code(world, client):
    slot = world.today_slot(world.a)
    person = world.a.people[2]
    booking = book(slot, person)
    client.force_login(world.a.sampler)
    answer = client.post(
        reverse("testing:scan"),
        {"round": "VOL", "site": world.a.site.code, "barcode": "P1", "code": booking.qr_payload},
    )
    assert answer.status_code == 200 and "Added." in answer.content.decode()
    assert Sample.objects.get().person_id == person.pk
    wrong_site = book(world.today_slot(world.b), world.b.people[0])
    refused = client.post(
        reverse("testing:scan"),
        {"round": "VOL", "site": world.a.site.code, "barcode": "P1", "code": wrong_site.qr_payload},
    )
    assert "not for this site" in refused.content.decode()


def test_results_on_the_phone_page_with_the_code_from_the_text(world, client):
    person, other = world.a.people[0], world.a.people[1]
    url = reverse("voluntary:results")
    sent = client.post(url, {"id_number": person.document_number, "step": "send"})
    assert sent.status_code == 200 and "a code has been sent" in sent.content.decode()
    code = last_code()
    refused = client.post(url, {"id_number": other.document_number, "code": code, "step": "verify"})
    assert refused.status_code == 400
    assert 'data-code="code_invalid"' in refused.content.decode()
    assert other.name not in refused.content.decode()
    shown = client.post(url, {"id_number": person.document_number, "code": code, "step": "verify"})
    assert shown.status_code == 200
    assert person.name in shown.content.decode()
    assert "No sample in the last 30 days." in shown.content.decode()


def test_the_results_page_answers_429_when_limited(world, client, settings):
    settings.VOLUNTARY_LIMITS = {"code": {"address": (1, 60)}}
    url = reverse("voluntary:results")
    client.post(url, {"id_number": world.a.people[0].document_number, "step": "send"})
    limited = client.post(url, {"id_number": world.a.people[1].document_number, "step": "send"})
    assert limited.status_code == 429 and 'data-code="throttled"' in limited.content.decode()
    assert AuditEntry.objects.filter(object_type="voluntary.lookup").count() == 1


def test_staff_pages_are_scoped_and_masked(world, client):
    slot = world.slot(world.a, capacity=3)
    booking = book(slot, world.a.people[0])
    schedule = slot.site.voluntary_schedule
    client.force_login(world.a.hq)
    listing = client.get(reverse("voluntary:staff"))
    assert world.a.site.name in listing.content.decode()
    page = client.get(
        reverse("voluntary:schedule", args=[schedule.pk]), {"day": str(world.tomorrow)}
    )
    text = page.content.decode()
    person = booking.person
    assert person.name in text and mask_id_number(person.document_number) in text
    assert person.document_number not in text and person.phone not in text
    # Places per slot from the page.
    client.post(
        reverse("voluntary:schedule", args=[schedule.pk]),
        {"action": "capacity", "slot": slot.pk, "capacity": 7, "day": str(world.tomorrow)},
    )
    slot.refresh_from_db()
    assert slot.capacity == 7
    # District B's staff: A's page does not exist, A's site is not listed.
    client.force_login(world.b.sampler)
    assert client.get(reverse("voluntary:schedule", args=[schedule.pk])).status_code == 404
    assert world.a.site.name not in client.get(reverse("voluntary:staff")).content.decode()
    # A grid worker has no such page (and no menu entry).
    client.force_login(
        world.commander.__class__.objects.create(
            username="gw", role="grid_worker", jurisdiction=world.a.district
        )
    )
    assert client.get(reverse("voluntary:staff")).status_code == 403
    assert "voluntary/staff" not in client.get("/").content.decode()


def test_staff_start_bookings_at_a_site_and_open_a_day(world, client):
    client.force_login(world.a.sampler)
    made = client.post(
        reverse("voluntary:staff"),
        {
            "site": world.a.site.code,
            "opens": "08:00",
            "closes": "10:00",
            "slot_minutes": 60,
            "capacity": 5,
            "active": "on",
        },
    )
    schedule = world.a.site.voluntary_schedule
    assert made.status_code == 302 and made.url == reverse("voluntary:schedule", args=[schedule.pk])
    client.post(made.url, {"action": "open", "day": str(world.tomorrow)})
    page = client.get(made.url, {"day": str(world.tomorrow)}).content.decode()
    assert re.search(r"08:00–09:00", page) and re.search(r"09:00–10:00", page)
