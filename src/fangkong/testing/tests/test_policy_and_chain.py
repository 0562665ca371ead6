"""Pooling by risk zone and key group, exemptions, boxes through the API, throughput per site
and hour, people missed in several rounds, and the pages that show them."""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone, translation
from rest_framework.test import APIClient

from fangkong.command.models import RiskArea
from fangkong.common import errors
from fangkong.people.models import Tag
from fangkong.testing import services
from fangkong.testing.models import Exemption, TemporaryControl, Tube
from fangkong.testing.views import ZONE_POLICY

from .factories import LabFactory, SiteFactory, make_round


@pytest.fixture
def world(tree, people, make_user):
    round_ = make_round("R1", tree["city"], pool_size=10, pooling=ZONE_POLICY)
    site = SiteFactory(code="SA", jurisdiction=tree["grid_a"])
    lab = LabFactory(code="LAB1", jurisdiction=tree["city"])
    return {
        "round": round_,
        "site": site,
        "lab": lab,
        "sampler": make_user(role="sampler", node="grid_a"),
        **people,
    }


def api_for(user):
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_authenticate(user)
    return client


def zone(node, level):
    today = timezone.localdate()
    return RiskArea.objects.create(
        name=node.name, level=level, preset="zones", jurisdiction=node, jpath=node.path,
        since=today, level_since=today,
    )  # fmt: skip


def scan(w, barcode, person):
    return services.tube_scan(
        actor=w["sampler"],
        round_=w["round"],
        barcode=barcode,
        site=w["site"],
        code=person.document_number,
    )


def test_pool_size_follows_zone_and_key_group(world, tree):
    a, b = world["a"], world["b"]
    assert scan(world, "T-B", b[0]).tube.capacity == 10  # no zone: the round's 10:1
    zone(tree["grid_a"], "sealed")
    zone(tree["grid_b"], "precaution")
    assert scan(world, "T-A", a[0]).tube.capacity == 1  # sealed: a tube each
    assert scan(world, "T-P", b[1]).tube.capacity == 20  # precaution: 20:1
    # The tube keeps its size for the people after the first.
    assert scan(world, "T-P", a[2]).tube.capacity == 20
    with pytest.raises(services.Conflict):
        scan(world, "T-A", a[1])  # full at one
    # Someone under temporary control is a key group: 1:1 even in a precaution zone.
    TemporaryControl.objects.create(
        round=world["round"],
        person=b[0],
        tube=Tube.objects.get(barcode="T-B"),
        jpath=b[0].jpath,
        since=timezone.now(),
    )
    services.tube_close(actor=None, tube=Tube.objects.get(barcode="T-B"))
    assert services.pool_size_for(round_=world["round"], person=b[0]) == 1
    assert services.pool_size_for(round_=world["round"], person=b[1]) == 20


def test_scanned_tube_knows_its_grid(world):
    a, b = world["a"], world["b"]
    scan(world, "T1", a[0])
    scan(world, "T1", a[1])
    assert Tube.objects.get(barcode="T1").grid_id == a[0].grid_id
    scan(world, "T1", b[0])  # a second grid: the tube's people are counted one by one
    assert Tube.objects.get(barcode="T1").grid_id is None


def test_bedridden_are_exempt_and_marked_for_home_visits(world, make_user):
    a = world["a"]
    a[2].tags = Tag.BEDRIDDEN.value | Tag.CHRONIC_DISEASE.value
    a[2].save()
    assert services.exemptions_from_tags(actor=None, round_=world["round"]) == 1
    assert services.exemptions_from_tags(actor=None, round_=world["round"]) == 0
    assert Exemption.objects.get().person == a[2]
    rows = api_for(make_user(role="grid_worker", node="grid_a")).get(
        "/api/v1/testing/rounds/R1/untested/"
    )
    marks = {r["id"]: r["home_visit"] for r in rows.json()["results"]}
    assert marks == {a[0].pk: False, a[1].pk: False, a[2].pk: True}


def test_box_chain_through_the_api(world, make_user, tree, django_assert_max_num_queries):
    a = world["a"]
    for barcode, person in (("T1", a[0]), ("T2", a[1])):
        scan(world, barcode, person)
        services.tube_close(actor=None, tube=Tube.objects.get(barcode=barcode))
    sampler = api_for(world["sampler"])
    made = sampler.post(
        "/api/v1/testing/boxes/", {"code": "BOX1", "site": "SA", "tubes": ["T1"]}, format="json"
    )
    assert made.status_code == 201 and made.json()["tubes"] == 1
    assert sampler.post(
        "/api/v1/testing/boxes/BOX1/tubes/", {"tubes": ["T2"]}, format="json"
    ).json()["tubes"] == 2  # fmt: skip
    handed = sampler.post("/api/v1/testing/boxes/BOX1/hand-over/", {"lab": "LAB1"}, format="json")
    assert handed.status_code == 200 and handed.json()["lab"] == "LAB1"
    assert set(Tube.objects.values_list("status", flat=True)) == {"in_transit"}
    services.box_create(actor=None, code="BOX2", site=world["site"])
    with django_assert_max_num_queries(2):  # count, page: no query per box
        listed = sampler.get("/api/v1/testing/boxes/").json()
    assert [(b["code"], b["tubes"]) for b in listed["results"]] == [("BOX2", 0), ("BOX1", 2)]
    # Another district's sampler does not see the box.
    other = api_for(make_user(role="sampler", node="grid_c"))
    assert other.get("/api/v1/testing/boxes/BOX1/").status_code == 404
    assert other.get("/api/v1/testing/boxes/").json()["count"] == 0
    lab_staff = api_for(make_user(role="lab_staff", node="city"))
    received = lab_staff.post("/api/v1/testing/boxes/BOX1/receive/", {"lab": "LAB1"}, format="json")
    assert received.status_code == 200 and received.json()["received_at"]
    tubes = list(Tube.objects.order_by("barcode"))
    assert [t.status for t in tubes] == ["received", "received"]
    assert all(t.boxed_at and t.handed_over_at and t.received_at for t in tubes)
    # The sampler may not receive, the lab may not pack.
    city_sampler = api_for(make_user(role="sampler", node="city"))
    assert city_sampler.post("/api/v1/testing/boxes/BOX1/receive/", {"lab": "LAB1"}).json() == {
        "code": "forbidden",
        "detail": str(errors.Forbidden.default_message),
    }
    assert lab_staff.post("/api/v1/testing/boxes/", {"code": "B2", "site": "SA"}).status_code == 403


def test_throughput_per_site_and_hour(world, make_user, django_assert_max_num_queries):
    a, b = world["a"], world["b"]
    nine = timezone.make_aware(dt.datetime(2026, 11, 23, 9, 10))
    for barcode, people_, at in (
        ("T1", [a[0], a[1]], nine),
        ("T2", [a[2]], nine + dt.timedelta(minutes=20)),
        ("T3", [b[0]], nine + dt.timedelta(hours=1)),
    ):
        for person in people_:
            scan(world, barcode, person)
        services.tube_close(actor=None, tube=Tube.objects.get(barcode=barcode), at=at)
    client = api_for(make_user(role="commander", node="city"))
    with django_assert_max_num_queries(6):
        rows = client.get("/api/v1/testing/rounds/R1/throughput/").json()
    assert [(r["site"], r["hour"][:16], r["tubes"], r["swabs"]) for r in rows] == [
        ("SA", "2026-11-23T09:00", 2, 3),
        ("SA", "2026-11-23T10:00", 1, 1),
    ]
    grid_b = api_for(make_user(role="grid_worker", node="grid_b"))
    assert grid_b.get("/api/v1/testing/rounds/R1/throughput/").json() == []


def test_people_missed_in_several_rounds(world, tree, make_user):
    a = world["a"]
    first = make_round("R0", tree["district"])
    first.created_at = timezone.now() - dt.timedelta(days=3)
    first.save()
    # R0: only a[0] sampled. R1: a[0] and a[1] sampled. a[2] is missed in both.
    services.tube_scan(actor=None, round_=first, barcode="X0", site=world["site"], person=a[0])
    scan(world, "T1", a[0])
    scan(world, "T1", a[1])
    client = api_for(make_user(role="grid_worker", node="grid_a"))
    rows = client.get("/api/v1/testing/rounds/R1/missed/").json()["results"]
    assert [(r["id"], r["missed"]) for r in rows] == [(a[2].pk, 2)]
    assert "document_number" in rows[0] and "*" in rows[0]["document_number"]


def test_pages_show_plan_proposal_throughput_and_home_visits(world, make_user, client, tree):
    a = world["a"]
    a[2].tags = Tag.BEDRIDDEN.value
    a[2].save()
    services.exemptions_from_tags(actor=None, round_=world["round"])
    scan(world, "T1", a[0])
    services.tube_close(actor=None, tube=Tube.objects.get(barcode="T1"))
    services.rotation_plan(
        actor=None,
        round_=world["round"],
        nodes=[tree["district"], tree["district2"]],
        first_day=dt.date(2026, 11, 23),
        days=2,
    )
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    client.force_login(make_user(role="commander", node="city"))
    with translation.override("zh-hans"):
        plan = client.get("/testing/plan/").content.decode()
        assert "规划" in plan or "计划" in plan
        assert "玄武区" in plan and "秦淮区" in plan
        page = client.get("/testing/rounds/R1/").content.decode()
        assert "区域轮流" in page and "2026-11-24" in page and "下一轮" in page
        turnaround = client.get("/testing/rounds/R1/turnaround/").content.decode()
        assert "每小时" in turnaround and world["site"].name in turnaround
        client.force_login(make_user(role="grid_worker", node="grid_a"))
        untested = client.get("/testing/rounds/R1/untested/").content.decode()
        assert "上门采样" in untested and a[2].name in untested


def test_lab_page_receives_a_box(world, make_user, client):
    scan(world, "T1", world["a"][0])
    tube = services.tube_close(actor=None, tube=Tube.objects.get(barcode="T1"))
    box = services.box_create(actor=None, code="BOX9", site=world["site"])
    services.box_add_tubes(actor=None, box=box, tubes=[tube])
    services.box_hand_over(actor=None, box=box, lab=world["lab"])
    client.force_login(make_user(role="lab_staff", node="city"))
    response = client.post(
        "/testing/lab/", {"lab": "LAB1", "action": "box", "box": "BOX9"}, follow=True
    )
    assert "Box BOX9 received: 1 tube." in response.content.decode()  # issue 16: not "1 tubes"
    assert Tube.objects.get(barcode="T1").status == "received"
    missing = client.post(
        "/testing/lab/", {"lab": "LAB1", "action": "box", "box": "NOPE"}, follow=True
    )
    assert "No such box." in missing.content.decode()


def test_stale_city_counts_are_shown_not_recounted_in_the_page(world, make_user, monkeypatch):
    from fangkong.testing import selectors
    from fangkong.testing.models import GridStat

    scan(world, "T1", world["a"][0])
    commander = make_user(role="commander", node="city")
    first = selectors.round_progress(actor=commander, round_=world["round"])
    assert first["total"]["sampled"] == 1
    GridStat.objects.update(refreshed_at=timezone.now() - dt.timedelta(hours=1))
    scan(world, "T1", world["a"][1])
    monkeypatch.setattr(selectors, "INLINE_RECOUNT", 0)  # as if it were a city of millions
    stale = selectors.round_progress(actor=commander, round_=world["round"])
    assert stale["total"]["sampled"] == 1 and stale["refreshed_at"] < timezone.now()
    monkeypatch.setattr(selectors, "INLINE_RECOUNT", 500_000)
    fresh = selectors.round_progress(actor=commander, round_=world["round"])
    assert fresh["total"]["sampled"] == 2
