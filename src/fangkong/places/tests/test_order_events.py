"""Closure and restriction orders follow the command centre by event: a risk area declared,
ended or downgraded through command's API, or a response level declared, changes the places'
orders once the change commits, with nobody pressing "apply"."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fangkong.accounts.roles import Role
from fangkong.command.models import Proposal
from fangkong.places.models import PlaceOrder

from .factories import city_of_two, make_place, user

pytestmark = pytest.mark.django_db


def api_for(u):
    client = APIClient()
    client.force_authenticate(u)
    return client


def open_orders() -> dict:
    return {
        o.place.name: (o.measure, o.capacity_percent, o.source)
        for o in PlaceOrder.objects.filter(lifted_at__isnull=True).select_related("place")
    }


def test_a_risk_area_declared_and_ended_through_the_api_orders_and_frees_its_places(
    django_capture_on_commit_callbacks,
):
    city, a, b = city_of_two()
    make_place(a.community, name="锁金村菜场", kind="market")
    make_place(a.community, name="梅园面馆", kind="restaurant")
    make_place(a.community, name="社区卫生服务中心", kind="hospital")
    make_place(b.community, name="夫子庙美食街", kind="restaurant")
    api = api_for(user(Role.COMMANDER, city))
    today = timezone.localdate().isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        declared = api.post(
            "/api/v1/command/risk-areas/",
            {"level": "medium", "since": today, "node": a.community.code},
            format="json",
        )
    assert declared.status_code == 201
    assert open_orders() == {
        "锁金村菜场": ("restricted", 50, "risk_area"),
        "梅园面馆": ("closed", 0, "risk_area"),
    }
    listed = api.get("/api/v1/places/orders/").json()
    assert sorted(o["measure"] for o in listed["results"]) == ["closed", "restricted"]
    with django_capture_on_commit_callbacks(execute=True):
        ended = api.post(
            f"/api/v1/command/risk-areas/{declared.json()['id']}/facts/",
            {"ended_on": today},
            format="json",
        )
    assert ended.status_code == 200
    assert open_orders() == {}
    assert PlaceOrder.objects.filter(lifted_at__isnull=False).count() == 2


def test_a_downgrade_approved_changes_the_order_and_a_response_level_adds_its_own(
    django_capture_on_commit_callbacks,
):
    city, a, _b = city_of_two()
    make_place(a.community, name="梅园面馆", kind="restaurant")
    make_place(a.community, name="后宰门KTV", kind="entertainment")
    commander = user(Role.COMMANDER, city)
    api = api_for(commander)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        area = api.post(
            "/api/v1/command/risk-areas/",
            {"level": "medium", "since": today.isoformat(), "node": a.community.code},
            format="json",
        ).json()
    assert open_orders()["梅园面馆"] == ("closed", 0, "risk_area")
    proposal = Proposal.objects.create(
        area_id=area["id"], from_level="medium", to_level="low", proposed_on=today, clean_days=7
    )
    with django_capture_on_commit_callbacks(execute=True):
        decided = api.post(f"/api/v1/command/proposals/{proposal.pk}/approve/")
    assert decided.status_code == 200, decided.content
    assert "梅园面馆" not in open_orders()
    with django_capture_on_commit_callbacks(execute=True):
        declared = api.post(
            "/api/v1/command/response-levels/", {"level": 1, "node": city.code}, format="json"
        )
    assert declared.status_code == 201
    assert open_orders()["后宰门KTV"] == ("closed", 0, "response_level")
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/command/response-levels/", {"level": 4, "node": city.code}, format="json")
    assert open_orders() == {}
