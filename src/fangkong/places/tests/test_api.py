"""The places API and pages: scope (another district's place is 404 and absent), a place's own
staff see their place only, visitors masked without the right and audited with it."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fangkong.accounts.roles import Role
from fangkong.audit.models import AuditEntry
from fangkong.places import scans, services

from .factories import city_of_two, make_place, user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    city, a, b = city_of_two()
    pa, pb = (
        make_place(a.community),
        make_place(b.community, name="夫子庙美食街", kind="restaurant"),
    )
    for person in a.people[:3]:
        scans.scan_record(token=pa.token, phone=person.phone)
    return city, a, b, pa, pb


def api_for(u):
    client = APIClient()
    client.force_authenticate(u)
    return client


def test_a_district_sees_its_places_only(world, django_assert_max_num_queries):
    _city, a, _b, pa, pb = world
    api = api_for(user(Role.COMMANDER, a.node))
    with django_assert_max_num_queries(6):
        listed = api.get("/api/v1/places/places/").json()
    assert [p["code"] for p in listed["results"]] == [pa.code]
    assert listed["results"][0]["status"] == "open"
    assert "scan" in listed["results"][0]["duties"]
    assert api.get(f"/api/v1/places/places/{pb.pk}/").status_code == 404
    detail = api.get(f"/api/v1/places/places/{pa.pk}/").json()
    assert detail["scans_today"] == 3 and detail["scan_url"].endswith(f"/v/{pa.token}/")
    hours = api.get(f"/api/v1/places/places/{pa.pk}/hours/").json()
    assert hours["total"] == 3 and hours["hours"][timezone.localtime().hour] == 3
    assert api.get(f"/api/v1/places/places/{pb.pk}/hours/").status_code == 404
    assert api.get("/api/v1/places/places/?page=9").status_code == 404
    for day in ("9999-12-31", "0001-01-01", "yesterday"):
        bad = api.get(f"/api/v1/places/places/{pa.pk}/hours/?day={day}")
        assert bad.status_code == 400 and bad.json()["code"] == "day_invalid"


def test_registering_a_place_through_the_api(world):
    _city, a, b, _pa, _pb = world
    api = api_for(user(Role.HQ_STAFF, a.node))
    made = api.post(
        "/api/v1/places/places/",
        {
            "name": "众彩冷链物流仓",
            "place_kind": "cold_chain",
            "jurisdiction": a.community.code,
            "capacity": 150,
        },
        format="json",
    )
    assert made.status_code == 201
    assert made.json()["staff_test_every_days"] == 1 and made.json()["order"] is None
    outside = api.post(
        "/api/v1/places/places/",
        {"name": "x", "place_kind": "other", "jurisdiction": b.community.code},
        format="json",
    )
    assert outside.status_code == 404
    grid = api_for(user(Role.GRID_WORKER, a.grid)).post(
        "/api/v1/places/places/",
        {"name": "x", "place_kind": "other", "jurisdiction": a.grid.code},
        format="json",
    )
    assert grid.status_code == 403 and grid.json()["code"] == "forbidden"


def test_place_staff_see_and_record_their_own_place_only(world):
    _city, a, _b, pa, _pb = world
    other = make_place(a.community, name="锁金村菜场")
    staff = user(Role.PLACE_STAFF, a.community)
    services.place_staff_bind(actor=None, place=pa, user=staff)
    api = api_for(staff)
    assert [p["id"] for p in api.get("/api/v1/places/places/").json()["results"]] == [pa.pk]
    assert api.get(f"/api/v1/places/places/{other.pk}/").status_code == 404
    made = api.post(
        "/api/v1/places/duty-checks/",
        {"place": pa.pk, "duty": "temperature", "done": True},
        format="json",
    )
    assert made.status_code == 201 and made.json()["duty"] == "temperature"
    refused = api.post(
        "/api/v1/places/duty-checks/",
        {"place": other.pk, "duty": "temperature", "done": True},
        format="json",
    )
    assert refused.status_code == 404
    listed = api.get(f"/api/v1/places/duty-checks/?place={pa.pk}").json()
    assert [c["duty"] for c in listed["results"]] == ["temperature"]
    # Visitors are tracing work: not the place's own staff.
    assert api.get(f"/api/v1/places/places/{pa.pk}/visitors/").status_code == 403

    from django.test import Client

    web = Client()
    web.force_login(staff)
    assert web.get(f"/places/{pa.pk}/").status_code == 200
    assert web.get(f"/places/{other.pk}/").status_code == 404


def test_visitors_are_masked_for_the_commander_and_full_and_audited_for_the_epidemiologist(world):
    _city, a, _b, pa, pb = world
    commander = api_for(user(Role.COMMANDER, a.node))
    rows = commander.get(f"/api/v1/places/places/{pa.pk}/visitors/").json()
    phones = {p.phone for p in a.people[:3]}
    assert len(rows) == 3 and not phones & {r["phone"] for r in rows}
    assert {r["phone"] for r in rows} == {p[:3] + "******" + p[-2:] for p in phones}
    assert not AuditEntry.objects.filter(action="view_pii").exists()
    epi = user(Role.EPIDEMIOLOGIST, a.node)
    rows = api_for(epi).get(f"/api/v1/places/places/{pa.pk}/visitors/").json()
    assert {r["phone"] for r in rows} == phones
    entry = AuditEntry.objects.get(action="view_pii")
    assert (entry.actor, entry.object_type, entry.object_id) == (epi, "places.place", str(pa.pk))
    assert api_for(epi).get(f"/api/v1/places/places/{pb.pk}/visitors/").status_code == 404


def test_orders_through_the_api(world):
    _city, a, _b, pa, pb = world
    api = api_for(user(Role.COMMANDER, a.node))
    made = api.post(
        "/api/v1/places/orders/",
        {"place": pa.pk, "measure": "restricted", "capacity_percent": 30, "reason": "二级响应"},
        format="json",
    )
    assert made.status_code == 201
    order = made.json()
    assert (order["measure"], order["capacity_percent"], order["source"]) == (
        "restricted",
        30,
        "manual",
    )
    assert api.get("/api/v1/places/places/").json()["results"][0]["status"] == "restricted"
    assert (
        api.post(
            "/api/v1/places/orders/", {"place": pb.pk, "measure": "closed"}, format="json"
        ).status_code
        == 404
    )
    lifted = api.post(f"/api/v1/places/orders/{order['id']}/lift/")
    assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None
    again = api.post(f"/api/v1/places/orders/{order['id']}/lift/")
    assert again.status_code == 409 and again.json()["code"] == "order_lifted"
    assert api.post("/api/v1/places/orders/apply/").json() == {"issued": 0, "lifted": 0, "kept": 0}


def test_the_place_page_shows_scans_duties_cases_and_status(client, world):
    _city, a, _b, pa, _pb = world
    commander = user(Role.COMMANDER, a.node)
    services.duty_check_record(
        actor=None, place=pa, duty="disinfection", done=False, note="缺消毒液"
    )
    services.place_order_issue(actor=None, place=pa, measure="closed", reason="中风险区")
    from fangkong.tracing import services as tracing

    case = tracing.case_open(
        actor=None,
        person=a.people[0],
        classification="confirmed",
        colocate=False,
        reported_at=timezone.now(),
        onset_date=timezone.localdate(),
    )
    client.force_login(commander)
    text = client.get(f"/places/{pa.pk}/").content.decode()
    assert "红山农贸市场" in text and "暂停营业" in text and "中风险区" in text
    assert "缺消毒液" in text and case.code in text
    assert f'title="{timezone.localtime().hour}:00 · 3"' in text
    listing = client.get("/places/?status=closed").content.decode()
    assert pa.code in listing


def test_duties_and_orders_through_the_pages(client, world):
    _city, a, _b, pa, _pb = world
    staff = user(Role.PLACE_STAFF, a.community)
    services.place_staff_bind(actor=None, place=pa, user=staff)
    client.force_login(staff)
    answer = client.post(
        f"/places/{pa.pk}/duties/", {"scan": "done", "mask": "missed", "mask_note": "入口无人"}
    )
    assert answer.status_code == 302
    from fangkong.places.models import DutyCheck

    assert dict(DutyCheck.objects.values_list("duty", "done")) == {"scan": True, "mask": False}
    assert client.post(f"/places/{pa.pk}/order/", {"measure": "closed"}).status_code == 403
    client.force_login(user(Role.COMMANDER, a.node))
    client.post(f"/places/{pa.pk}/order/", {"measure": "restricted", "capacity_percent": "40"})
    order = pa.orders.get()
    assert (order.measure, order.capacity_percent) == ("restricted", 40)
