"""Each role lands on its day's work; every home is scoped to the user's subtree."""

import datetime as dt

import pytest
from django.utils import timezone

from fangkong.accounts.roles import Role
from fangkong.control.tests.factories import make_site, open_order
from fangkong.tracing import services as tracing
from fangkong.tracing.tests.factories import open_case


@pytest.fixture
def day(people, tree):
    """Case in grid A with a lead in grid A and one in grid B; a lead in district 2 (grid C);
    a person under home health monitoring in grid A; an isolation site in grid A."""
    now = timezone.now()
    case_a = open_case(people["a"][0])
    lead_a = tracing.contact_add(
        actor=None,
        person=people["a"][1],
        source_case=case_a,
        setting="household",
        last_exposure_at=now - dt.timedelta(hours=5),
    )
    lead_b = tracing.contact_add(
        actor=None,
        person=people["b"][0],
        source_case=case_a,
        setting="workplace",
        last_exposure_at=now - dt.timedelta(hours=6),
    )
    order = open_order(people["a"][2], category="close_contact")
    site = make_site(tree["grid_a"], code="GA1", rooms=3)
    return {"case": case_a, "lead_a": lead_a, "lead_b": lead_b, "order": order, "site": site}


def home(client, user):
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response


def test_grid_worker_home_shows_own_leads_and_checks_only(client, make_user, day, people):
    response = home(client, make_user(role="grid_worker", node="grid_a"))
    body = response.content.decode()
    panels = {p.key: p for p in response.context["panels"]}
    assert list(panels) == ["leads", "checks", "households", "untested", "tasks", "alerts"]
    assert [v for _label, v in panels["leads"].figures] == [1, 0]  # pushed, verified
    assert [i.text for i in panels["leads"].items] == [people["a"][1].name]
    assert people["b"][0].name not in body  # grid B's lead is not on grid A's home
    assert "/tracing/leads/" in body and "/control/checks/" in body


def test_grid_b_worker_sees_grid_b_lead(client, make_user, day, people):
    response = home(client, make_user(role="grid_worker", node="grid_b"))
    panels = {p.key: p for p in response.context["panels"]}
    assert [i.text for i in panels["leads"].items] == [people["b"][0].name]
    assert people["a"][1].name not in response.content.decode()


def test_isolation_staff_home_shows_rooms_and_links_to_the_board(client, make_user, day):
    response = home(client, make_user(role="isolation_staff", node="community"))
    panels = {p.key: p for p in response.context["panels"]}
    assert [v for _label, v in panels["rooms"].figures] == [3, 0, 0]  # vacant, occupied, cleaning
    assert panels["rooms"].items[0].url == f"/control/sites/{day['site'].pk}/"


def test_isolation_staff_of_district_2_sees_no_site(client, make_user, day):
    response = home(client, make_user(role="isolation_staff", node="district2"))
    panels = {p.key: p for p in response.context["panels"]}
    assert panels["rooms"].items == []
    assert "Site GA1" not in response.content.decode()


def test_commander_lands_on_the_big_screen(client, make_user, day):
    client.force_login(make_user(role="commander", node="city"))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/analytics/"


@pytest.mark.parametrize("role", [r for r in Role.values if r not in ("commander",)])
def test_every_role_has_a_home(client, make_user, day, role):
    response = home(client, make_user(role=role, node="district"))
    if role == "admin":
        assert response.templates[0].name == "geo/home.html"
    else:
        assert response.templates[0].name == "workday/home.html"
        assert response.context["panels"]


def test_home_in_english(client, make_user, day):
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = home(client, make_user(role="grid_worker", node="grid_a"))
    assert "Leads to verify" in response.content.decode()
