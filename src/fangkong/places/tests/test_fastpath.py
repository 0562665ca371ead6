"""The venue scan's short way through the server (fangkong.places.fastpath): a plain scan is
answered by the fast view with exactly the DRF view's answers and headers, the layers that must
apply still apply, and anything that is not a plain scan goes down the whole stack to DRF."""

import json

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from fangkong.places import fastpath, services
from fangkong.places.api import VisitViewSet
from fangkong.places.models import Scan

from .factories import make_place

pytestmark = pytest.mark.django_db
URL = "/api/v1/places/visits/"


@pytest.fixture
def paths(monkeypatch):
    """Counts the requests each way answered: the fast view, or DRF's VisitViewSet.create."""
    taken = {"fast": 0, "drf": 0}
    fast, drf = fastpath.visit, VisitViewSet.create

    def fast_spy(request):
        taken["fast"] += 1
        return fast(request)

    def drf_spy(self, request):
        taken["drf"] += 1
        return drf(self, request)

    monkeypatch.setattr(fastpath, "visit", fast_spy)  # read when a client builds its chain
    monkeypatch.setattr(VisitViewSet, "create", drf_spy)
    return taken


def post(data, *, cookie: bool = False, **extra):
    """A scan as a phone's app posts it; `cookie` sends an unrelated cookie, which sends the
    request down the whole stack (the reference for the fast view's answers)."""
    api = APIClient()
    if cookie:
        api.cookies["x"] = "1"
    body = data if isinstance(data, str | bytes) else json.dumps(data)
    return api.post(URL, body, content_type="application/json", **extra)


HEADERS_COMPARED = [
    "Content-Type",
    "Vary",
    "Allow",
    "X-Frame-Options",
    "Content-Language",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Retry-After",
    "Set-Cookie",
]


def headers(response) -> dict:
    return {name: response.headers.get(name) for name in HEADERS_COMPARED}


def test_the_middleware_order_puts_the_fast_path_after_the_layers_every_answer_needs():
    stack = settings.MIDDLEWARE
    at = stack.index("fangkong.places.fastpath.ScanFastPath")
    assert stack[:at] == [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "csp.middleware.CSPMiddleware",
        "fangkong.common.replica.ReplicaMiddleware",
    ]
    assert [m for m in stack[at:] if m in fastpath.FAST_CHAIN] == fastpath.FAST_CHAIN


def test_a_plain_scan_takes_the_fast_path_and_answers_as_drf_does(scan_world, paths):
    a, place = scan_world
    phone, other = a.people[0].phone, a.people[1].phone
    fast = post({"code": place.token, "phone": phone})
    full = post({"code": place.token, "phone": other}, cookie=True)
    assert paths == {"fast": 1, "drf": 1}
    assert fast.status_code == full.status_code == 201
    fast_body, full_body = fast.json(), full.json()
    assert set(fast_body) == set(full_body)
    for key in ("repeat", "place", "place_en", "place_code", "status", "capacity_percent"):
        assert fast_body[key] == full_body[key]
    assert fast_body["scanned_at"].endswith("Z") and full_body["scanned_at"].endswith("Z")
    assert headers(fast) == headers(full)
    # The layers that apply to every answer are there on the fast one.
    assert fast["X-Content-Type-Options"] == "nosniff"
    assert fast["X-Frame-Options"] == "DENY"
    assert fast["Referrer-Policy"] and fast["Cross-Origin-Opener-Policy"]
    assert "frame-ancestors 'none'" in fast["Content-Security-Policy"]
    assert fast["Content-Language"] == "zh-hans"
    assert fast["Vary"] == "Accept, Accept-Language, Cookie"
    assert int(fast["Content-Length"]) == len(fast.content)
    # Recorded once per visit: the repeat tap on the fast path is a 200 with the same scan.
    again = post({"code": place.token.lower(), "phone": phone})
    assert again.status_code == 200 and again.json()["repeat"] is True
    assert again.json()["scan"] == fast_body["scan"]
    assert paths["fast"] == 2 and Scan.objects.count() == 2


@pytest.mark.parametrize(
    "data, status, code",
    [
        ({"code": "NOSUCHCODE", "phone": "13800000000"}, 404, "not_found"),
        ({"phone": "12345"}, 400, "scan_phone_invalid"),
        ({"id_number": "320102199001011234"}, 400, "scan_id_invalid"),
        ({}, 400, "scan_number_missing"),
        ({"phone": "", "id_number": ""}, 400, "scan_number_missing"),
        ({"phone": "13800000000", "id_number": "11010519491231002X"}, 400, "scan_number_missing"),
    ],
)
def test_refusals_on_the_fast_path_are_byte_for_byte_drfs(scan_world, paths, data, status, code):
    _a, place = scan_world
    data = {"code": place.token, **data}
    fast, full = post(data), post(data, cookie=True)
    assert paths == {"fast": 1, "drf": 1}
    assert fast.status_code == full.status_code == status
    assert fast.json()["code"] == code
    assert fast.content == full.content  # the same body, fields and Chinese message included
    assert headers(fast) == headers(full)
    assert Scan.objects.count() == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"code": ""}, "code"),
        ({"code": "   ", "phone": "13800000000"}, "code"),
        ({"code": "X" * 17, "phone": "13800000000"}, "code"),
        ({"code": "ABC", "phone": "1" * 21}, "phone"),
        ({"code": "ABC", "id_number": "1" * 33}, "id_number"),
        ({"code": None, "phone": "13800000000"}, "code"),
        ({"code": "ABC", "phone": ["13800000000"]}, "phone"),
        ({"code": "ABC\x00", "phone": "13800000000"}, "code"),
        ({"phone": "13800000000"}, "code"),
    ],
)
def test_what_drfs_serializer_refuses_goes_to_drf(scan_world, paths, body, field):
    answer = post(body)
    assert paths == {"fast": 0, "drf": 1}
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid" and field in answer.json()["fields"]


@pytest.mark.parametrize(
    "body, extra",
    [
        ("not json", {}),
        ("[1, 2]", {}),
        ('{"code": NaN, "phone": "13800000000"}', {}),
        (b'{"code": "\xff"}', {}),
        ('{"code": "ABC", "phone": "13800000000"}'.encode("utf-16"), {}),
    ],
)
def test_a_body_drf_cannot_parse_goes_to_drf(scan_world, paths, body, extra):
    answer = post(body, **extra)
    assert paths == {"fast": 0, "drf": 1}
    assert answer.status_code == 400
    assert answer.json()["code"] in {"parse_error", "invalid"}


def test_other_requests_take_the_whole_stack(scan_world, paths):
    a, place = scan_world
    data = {"code": place.token, "phone": a.people[0].phone}
    api = APIClient()
    # A query string, another Accept, a form body, a non-ASCII value DRF accepts.
    assert api.post(URL + "?format=json", data, format="json").status_code == 201
    assert post(data, HTTP_ACCEPT="text/html").status_code == 200
    assert api.post(URL, data).status_code == 200  # multipart
    assert post({**data, "phone": "１３８"}).status_code == 400
    assert paths["fast"] == 0 and paths["drf"] == 4
    # A number DRF's CharField takes as text (it turns 13800000000 into "13800000000").
    assert post({"code": place.token, "phone": 13800000000}).status_code == 201
    assert paths["fast"] == 0 and paths["drf"] == 5


def test_a_cookie_keeps_the_language_the_visitor_chose(scan_world, paths):
    answer = APIClient()
    answer.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = answer.post(URL, {"code": "NOSUCHCODE", "phone": "13800000000"}, format="json")
    assert paths == {"fast": 0, "drf": 1}
    assert english.json()["detail"] == "No place has this venue code."
    chinese = post({"code": "NOSUCHCODE", "phone": "13800000000"})
    assert paths["fast"] == 1
    assert chinese.json()["detail"] != english.json()["detail"] and chinese["Content-Language"] == (
        "zh-hans"
    )


@override_settings(FANGKONG_SCAN_THROTTLE={"number_per_minute": 2, "address_per_minute": 3})
def test_the_throttle_counts_the_forwarded_address_on_the_fast_path(scan_world, paths):
    caches["shared"].clear()
    a, _place = scan_world
    places = [make_place(a.community, name=f"场所{i}") for i in range(5)]
    phone = a.people[0].phone

    def scan(place, number, address="10.9.8.7"):
        return post({"code": place.token, "phone": number}, HTTP_X_FORWARDED_FOR=address)

    assert scan(places[0], phone).status_code == 201
    assert scan(places[1], phone).status_code == 201
    third = scan(places[2], phone)
    assert third.status_code == 429 and third.json()["code"] == "throttled"
    assert scan(places[3], a.people[1].phone).status_code == 429  # the address: 4th this minute
    assert scan(places[4], a.people[2].phone, "10.9.8.6").status_code == 201
    assert paths == {"fast": 5, "drf": 0}
    assert Scan.objects.count() == 3


def test_a_closed_or_restricted_place_shows_in_the_fast_answer(scan_world, paths):
    a, place = scan_world
    services.place_order_issue(actor=None, place=place, measure="closed", reason="中风险区")
    closed = post({"code": place.token, "phone": a.people[0].phone})
    assert closed.status_code == 201 and closed.json()["status"] == "closed"
    services.place_order_issue(
        actor=None, place=place, measure="restricted", capacity_percent=50, reason="二级响应"
    )
    restricted = post({"code": place.token, "phone": a.people[1].phone})
    assert restricted.json()["status"] == "restricted"
    assert restricted.json()["capacity_percent"] == 50
    assert paths == {"fast": 2, "drf": 0} and Scan.objects.count() == 2


def test_an_id_number_scan_takes_the_fast_path(scan_world, paths):
    a, place = scan_world
    person = a.people[1]
    answer = post({"code": place.token, "id_number": person.document_number.lower()})
    assert answer.status_code == 201 and paths == {"fast": 1, "drf": 0}
    assert Scan.objects.get().person_id == person.pk
