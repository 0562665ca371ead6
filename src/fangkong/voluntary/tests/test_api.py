"""The API: public booking, cancel and lookup (no account), staff schedules, slots, bookings."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangkong.audit.models import AuditEntry
from fangkong.common.masking import mask_id_number, mask_phone
from fangkong.voluntary.models import Booking

from .conftest import book, last_code

BOOK = "/api/v1/voluntary/bookings/"
LOOKUP = "/api/v1/voluntary/lookup/"


def test_open_slots_are_public_and_show_places_left(world, api):
    slot = world.slot(world.a, capacity=3)
    book(slot, world.a.people[0])
    answer = api().get("/api/v1/voluntary/open-slots/", {"day": str(world.tomorrow)})
    assert answer.status_code == 200
    assert [
        (r["id"], r["site_code"], r["capacity"], r["left"]) for r in answer.json()["results"]
    ] == [(slot.pk, world.a.site.code, 3, 2)]
    assert api().get("/api/v1/voluntary/open-slots/", {"day": "nope"}).status_code == 400


def test_booking_over_capacity_is_refused_through_the_api(world, api):
    slot = world.slot(world.a, capacity=1)
    first = world.a.people[0]
    made = api().post(
        BOOK,
        {"slot": slot.pk, "id_number": first.document_number, "name": first.name},
        format="json",
    )
    assert made.status_code == 201
    body = made.json()
    assert body["qr_payload"] == f"FKV:{body['token']}" and body["status"] == "booked"
    assert body["site_code"] == world.a.site.code and body["starts"] == "09:00"
    assert first.document_number not in made.content.decode()
    second = world.a.people[1]
    full = api().post(
        BOOK,
        {"slot": slot.pk, "id_number": second.document_number, "name": second.name},
        format="json",
    )
    assert full.status_code == 409 and full.json()["code"] == "slot_full"
    wrong = api().post(
        BOOK,
        {"slot": slot.pk, "id_number": second.document_number, "name": "nobody"},
        format="json",
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "identity_mismatch"
    assert (
        api().post(BOOK, {"slot": 999999, "id_number": "x", "name": "y"}, format="json").status_code
        == 404
    )
    # The token shows and cancels the booking; a made-up one is 404.
    token = body["token"]
    assert api().get(f"{BOOK}{token}/").json()["status"] == "booked"
    cancelled = api().post(f"{BOOK}{token}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api().get(f"{BOOK}NOPE/").status_code == 404
    again = api().post(
        BOOK,
        {"slot": slot.pk, "id_number": second.document_number, "name": second.name},
        format="json",
    )
    assert again.status_code == 201


def test_bookings_are_limited_per_address(world, api, settings):
    settings.VOLUNTARY_LIMITS = {"book": {"address": (2, 3600)}}
    slot = world.slot(world.a, capacity=10)
    client = api()
    codes = []
    for person in world.a.people[:3]:
        answer = client.post(
            BOOK,
            {"slot": slot.pk, "id_number": person.document_number, "name": person.name},
            format="json",
            REMOTE_ADDR="9.9.9.9",
        )
        codes.append((answer.status_code, answer.json().get("code")))
    assert codes[:2] == [(201, None), (201, None)]
    assert codes[2] == (429, "throttled")


def test_lookup_refuses_someone_elses_number(world, api):
    mine, theirs = world.a.people[0], world.a.people[1]
    sent = api().post(f"{LOOKUP}code/", {"id_number": mine.document_number}, format="json")
    assert sent.status_code == 202
    nobody = api().post(f"{LOOKUP}code/", {"id_number": "110101199003074514"}, format="json")
    assert nobody.status_code == 202 and nobody.json() == sent.json()
    code = last_code()
    refused = api().post(LOOKUP, {"id_number": theirs.document_number, "code": code}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "code_invalid"
    assert theirs.name not in refused.content.decode()
    shown = api().post(LOOKUP, {"id_number": mine.document_number, "code": code}, format="json")
    assert shown.status_code == 200
    assert shown.json() == {"name": mine.name, "results": [], "bookings": []}
    assert AuditEntry.objects.filter(object_type="voluntary.lookup").count() == 4


def test_lookup_tries_are_limited_per_number(world, api):
    person = world.a.people[0]
    for i in range(10):
        api().post(
            LOOKUP,
            {"id_number": person.document_number, "code": "000000"},
            format="json",
            REMOTE_ADDR=f"8.8.8.{i}",
        )
    answer = api().post(
        LOOKUP, {"id_number": person.document_number, "code": "000000"}, format="json"
    )
    assert answer.status_code == 429 and answer.json()["code"] == "throttled"


@pytest.fixture
def bookings(world):
    slot_a, slot_b = world.slot(world.a, capacity=5), world.slot(world.b, capacity=5)
    return {
        "a": [book(slot_a, p) for p in world.a.people[:3]],
        "b": [book(slot_b, p) for p in world.b.people[:1]],
    }


def test_staff_see_their_sites_bookings_masked_and_scoped(world, api, bookings):
    hq = api(world.a.hq)  # HQ testing group: no personal data
    answer = hq.get("/api/v1/voluntary/site-bookings/")
    rows = answer.json()["results"]
    assert [r["id"] for r in rows] == [b.pk for b in bookings["a"]]
    person = world.a.people[0]
    assert rows[0]["document_number"] == mask_id_number(person.document_number)
    assert rows[0]["phone"] == mask_phone(person.phone)
    assert person.document_number not in answer.content.decode()
    other = bookings["b"][0]
    assert hq.get(f"/api/v1/voluntary/site-bookings/{other.pk}/").status_code == 404
    assert "秦淮" not in answer.content.decode()
    # A sampler at the desk sees full numbers, and that is audited.
    before = AuditEntry.objects.filter(action="view_pii").count()
    full = api(world.a.sampler).get("/api/v1/voluntary/site-bookings/").json()["results"]
    assert full[0]["document_number"] == person.document_number
    assert AuditEntry.objects.filter(action="view_pii").count() == before + 1
    # B's sampler sees B's only; the city's commander sees both; a grid worker none.
    b_rows = api(world.b.sampler).get("/api/v1/voluntary/site-bookings/").json()["results"]
    assert [r["id"] for r in b_rows] == [other.pk]
    city = api(world.commander).get("/api/v1/voluntary/site-bookings/").json()
    assert city["count"] == 4
    assert mask_id_number(other.person.document_number) in str(city)


def test_site_bookings_list_is_a_fixed_number_of_queries(world, api, bookings):
    client = api(world.commander)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/voluntary/site-bookings/")
    slot = Booking.objects.filter(site=world.a.site).first().slot
    for person in world.a.people[3:]:
        book(slot, person)
    with CaptureQueriesContext(connection) as more:
        client.get("/api/v1/voluntary/site-bookings/")
    assert len(more) == len(few)


def test_staff_set_schedules_open_days_and_places(world, api):
    client = api(world.a.sampler)
    made = client.post(
        "/api/v1/voluntary/schedules/",
        {
            "site": world.a.site.code,
            "opens": "08:00",
            "closes": "10:00",
            "slot_minutes": 30,
            "capacity": 4,
        },
        format="json",
    )
    assert made.status_code == 201
    pk = made.json()["id"]
    opened = client.post(
        f"/api/v1/voluntary/schedules/{pk}/open/", {"day": str(world.tomorrow)}, format="json"
    )
    assert [(s["starts"], s["capacity"]) for s in opened.json()] == [
        ("08:00", 4),
        ("08:30", 4),
        ("09:00", 4),
        ("09:30", 4),
    ]
    slot_id = opened.json()[0]["id"]
    from fangkong.voluntary.models import Slot

    book(Slot.objects.get(pk=slot_id), world.a.people[0])
    low = client.patch(f"/api/v1/voluntary/slots/{slot_id}/", {"capacity": 0}, format="json")
    assert low.status_code == 409 and low.json()["code"] == "below_booked"
    ok = client.patch(f"/api/v1/voluntary/slots/{slot_id}/", {"capacity": 6}, format="json")
    assert ok.json()["capacity"] == 6 and ok.json()["booked"] == 1
    # District B's staff: A's schedule and slot do not exist; B's site cannot be set by A.
    other = api(world.b.sampler)
    assert other.get(f"/api/v1/voluntary/schedules/{pk}/").status_code == 404
    assert (
        other.patch(
            f"/api/v1/voluntary/slots/{slot_id}/", {"capacity": 9}, format="json"
        ).status_code
        == 404
    )
    assert pk not in [s["id"] for s in other.get("/api/v1/voluntary/schedules/").json()["results"]]
    refused = client.post(
        "/api/v1/voluntary/schedules/",
        {"site": world.b.site.code, "opens": "08:00", "closes": "10:00"},
        format="json",
    )
    assert refused.status_code == 404
    # Nobody without an account.
    assert api().get("/api/v1/voluntary/schedules/").status_code in (401, 403)
