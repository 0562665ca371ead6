"""The venue-code scan through the public API and the phone page: one scan per visit, the
registry match, unknown numbers kept, refusals with stable codes, the throttle, the exit."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from fangkong.places import scans, services
from fangkong.places.models import Scan

from .factories import make_place

pytestmark = pytest.mark.django_db
URL = "/api/v1/places/visits/"


def test_a_visit_by_phone_is_recorded_once_and_matched_to_the_registry(scan_world):
    a, place = scan_world
    person = a.people[0]
    api = APIClient()
    first = api.post(URL, {"code": place.token, "phone": person.phone}, format="json")
    assert first.status_code == 201
    body = first.json()
    assert body["repeat"] is False and body["place"] == "红山农贸市场"
    assert body["place_code"] == place.code and body["status"] == "open"
    # The answer names the place, never a visitor.
    assert set(body) == {
        "scan",
        "repeat",
        "scanned_at",
        "place",
        "place_en",
        "place_code",
        "status",
        "capacity_percent",
    }
    again = api.post(URL, {"code": place.token.lower(), "phone": person.phone}, format="json")
    assert again.status_code == 200
    assert again.json()["repeat"] is True and again.json()["scan"] == body["scan"]
    scan = Scan.objects.get()
    assert (scan.place_id, scan.phone, scan.person_id) == (place.pk, person.phone, person.pk)


def test_a_visit_by_id_number_matches_the_person(scan_world):
    a, place = scan_world
    person = a.people[1]
    answer = APIClient().post(
        URL, {"code": place.token, "id_number": person.document_number.lower()}, format="json"
    )
    assert answer.status_code == 201
    scan = Scan.objects.get()
    assert scan.id_number == person.document_number and scan.person_id == person.pk
    assert scan.phone == ""


def test_a_number_nobody_has_is_kept_as_a_lead_key(scan_world):
    _a, place = scan_world
    answer = APIClient().post(URL, {"code": place.token, "phone": "17700001234"}, format="json")
    assert answer.status_code == 201
    scan = Scan.objects.get()
    assert scan.person_id is None and scan.phone == "17700001234"


def test_a_new_visit_after_leaving_is_a_new_scan(scan_world):
    a, place = scan_world
    phone = a.people[0].phone
    first = scans.scan_record(token=place.token, phone=phone)
    assert scans.scan_leave(token=place.token, scan_id=first.scan_id, number=phone) is True
    # Someone else cannot close a visit that is not theirs.
    assert scans.scan_leave(token=place.token, scan_id=first.scan_id, number="13900000000") is False
    second = scans.scan_record(token=place.token, phone=phone)
    assert second.repeat is False and second.scan_id != first.scan_id
    later = scans.scan_record(
        token=place.token,
        phone=a.people[2].phone,
        at=timezone.now() - dt.timedelta(hours=3),
    )
    assert later.repeat is False
    assert scans.scan_record(token=place.token, phone=a.people[2].phone).repeat is False
    assert Scan.objects.count() == 4


@pytest.mark.parametrize(
    "data, status, code",
    [
        ({"phone": "12345"}, 400, "scan_phone_invalid"),
        ({"id_number": "320102199001011234"}, 400, "scan_id_invalid"),
        ({}, 400, "scan_number_missing"),
        ({"phone": "13800000000", "id_number": "11010519491231002X"}, 400, "scan_number_missing"),
    ],
)
def test_bad_numbers_are_refused_with_their_code(scan_world, data, status, code):
    _a, place = scan_world
    answer = APIClient().post(URL, {"code": place.token, **data}, format="json")
    assert answer.status_code == status and answer.json()["code"] == code
    assert Scan.objects.count() == 0


def test_an_unknown_or_inactive_venue_code_is_not_found(scan_world):
    _a, place = scan_world
    answer = APIClient().post(URL, {"code": "NOSUCHCODE", "phone": "13800000000"}, format="json")
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    place.active = False
    place.save()
    answer = APIClient().post(URL, {"code": place.token, "phone": "13800000000"}, format="json")
    assert answer.status_code == 404


@override_settings(FANGKONG_SCAN_THROTTLE={"number_per_minute": 2, "address_per_minute": 3})
def test_scans_are_throttled_per_number_and_per_address(scan_world):
    from django.core.cache import caches

    caches["shared"].clear()
    a, _place = scan_world
    places = [make_place(a.community, name=f"场所{i}") for i in range(4)]
    api = APIClient(REMOTE_ADDR="10.20.30.40")
    phone = a.people[0].phone

    def post(place, number):
        return api.post(URL, {"code": place.token, "phone": number}, format="json")

    assert post(places[0], phone).status_code == 201
    assert post(places[1], phone).status_code == 201
    third = post(places[2], phone)
    assert third.status_code == 429 and third.json()["code"] == "throttled"
    # The address: a fourth scan from the same address in the minute is refused, whoever it is.
    assert post(places[3], a.people[1].phone).status_code == 429
    # Another address with another number is not held up.
    other = APIClient(REMOTE_ADDR="10.20.30.41")
    assert (
        other.post(URL, {"code": places[3].token, "phone": a.people[2].phone}, format="json")
    ).status_code == 201
    assert Scan.objects.count() == 3


def test_the_closure_shows_in_the_scan_answer_and_the_scan_is_still_kept(scan_world):
    a, place = scan_world
    services.place_order_issue(actor=None, place=place, measure="closed", reason="中风险区")
    answer = APIClient().post(URL, {"code": place.token, "phone": a.people[0].phone}, format="json")
    assert answer.status_code == 201 and answer.json()["status"] == "closed"
    assert Scan.objects.count() == 1


def test_leave_through_the_api(scan_world):
    a, place = scan_world
    phone = a.people[0].phone
    api = APIClient()
    scan = api.post(URL, {"code": place.token, "phone": phone}, format="json").json()["scan"]
    left = api.post(
        URL + "leave/", {"code": place.token, "scan": scan, "phone": phone}, format="json"
    )
    assert left.status_code == 200 and left.json() == {"left": True}
    assert Scan.objects.get().left_at is not None


# --- the phone page --------------------------------------------------------------------------


def test_the_phone_page_records_an_entry_and_offers_one_tap_next_time(client, scan_world):
    a, place = scan_world
    phone = a.people[0].phone
    page = client.get(f"/v/{place.token}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "红山农贸市场" in text and place.code in text and "one-tap" not in text
    done = client.post(f"/v/{place.token}/", {"use": "other", "kind": "phone", "number": phone})
    assert done.status_code == 200
    assert "Entry recorded." in done.content.decode()
    masked = phone[:3] + "******" + phone[-2:]
    assert masked in done.content.decode() and phone not in done.content.decode()
    # Back on the same phone: one tap, the number masked on the button's label.
    again = client.get(f"/v/{place.token}/").content.decode()
    assert 'id="one-tap"' in again and masked in again and phone not in again
    tapped = client.post(f"/v/{place.token}/", {"use": "remembered"})
    assert "Your entry is already recorded." in tapped.content.decode()
    assert Scan.objects.count() == 1
    left = client.post(f"/v/{place.token}/leave/")
    assert "Exit recorded." in left.content.decode()
    assert Scan.objects.get().left_at is not None


def test_the_phone_page_refuses_a_bad_number_and_keeps_nothing(client, scan_world):
    _a, place = scan_world
    page = client.post(f"/v/{place.token}/", {"use": "other", "kind": "phone", "number": "123"})
    assert page.status_code == 400
    assert "That is not a mobile number." in page.content.decode()
    assert Scan.objects.count() == 0


def test_the_phone_page_shows_the_closure_and_the_restriction(client, scan_world):
    _a, place = scan_world
    services.place_order_issue(actor=None, place=place, measure="closed", reason="高风险区")
    text = client.get(f"/v/{place.token}/").content.decode()
    assert "暂停营业" in text and "高风险区" in text
    services.place_order_issue(
        actor=None, place=place, measure="restricted", capacity_percent=50, reason="二级响应"
    )
    text = client.get(f"/v/{place.token}/").content.decode()
    assert "暂停营业" not in text and "Restricted: 50% of capacity" in text


def test_an_unknown_venue_code_page_is_a_404(client, scan_world):
    assert client.get("/v/NOSUCH/").status_code == 404
