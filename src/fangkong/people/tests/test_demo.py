"""The demo command: a small city, one login per role, idempotent, and the discovered stories."""

import io

import pytest
from django.core.management import call_command

from fangkong.accounts import demo
from fangkong.accounts.models import User
from fangkong.accounts.roles import Role
from fangkong.common import registry
from fangkong.geo.models import Level
from fangkong.people.models import Person


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", population=3000, seed=5, no_serve=True, stdout=out)
    return out.getvalue()


@pytest.fixture
def prepared(db):
    return run_demo()


def test_one_login_per_role(prepared):
    assert Person.objects.count() == 3000
    for role in Role:
        assert User.objects.filter(username=role.value, role=role).exists()
    district = User.objects.get(username="district")
    assert (district.role, district.working_group) == (Role.HQ_STAFF, "tracing")
    assert district.jurisdiction.level == Level.DISTRICT
    assert User.objects.get(username="grid_worker").jurisdiction.level == Level.GRID
    assert User.objects.get(username="sampler").jurisdiction.level == Level.COMMUNITY
    assert User.objects.get(username="commander").jurisdiction.level == Level.CITY
    assert User.objects.get(username="commander").display_name == "王指挥"
    grid = User.objects.get(username="grid_worker").jurisdiction
    assert grid.path.startswith(district.jurisdiction.path)


def test_the_table_lists_every_login(prepared):
    for account in demo.DEMO_ACCOUNTS:
        assert account.username in prepared
    assert "指挥长" in prepared and "Commander" in prepared
    assert demo.DEMO_PASSWORD in prepared


def test_login_with_the_demo_password(prepared, client):
    for username in ("commander", "district", "grid_worker", "auditor"):
        assert client.login(username=username, password=demo.DEMO_PASSWORD)
        client.logout()
    assert not client.login(username="commander", password="wrong")


def test_running_again_changes_nothing(prepared, client):
    users = dict(User.objects.values_list("username", "jurisdiction"))
    out = run_demo()
    assert "already holds 3,000 people" in out
    assert User.objects.count() == len(demo.DEMO_ACCOUNTS)
    assert dict(User.objects.values_list("username", "jurisdiction")) == users
    assert Person.objects.count() == 3000
    assert client.login(username="admin", password=demo.DEMO_PASSWORD)


def test_demo_steps_run_with_stdout_and_seed(db, monkeypatch):
    calls = []
    monkeypatch.setattr(registry, "_demo_steps", {})
    registry.demo_step(2, lambda stdout, seed: calls.append(("second", seed)))
    registry.demo_step(1, lambda stdout, seed: calls.append(("first", seed)))
    run_demo()
    assert calls == [("first", 5), ("second", 5)]


def test_each_app_declares_its_story_in_the_order_of_the_old_list():
    # Later stories build on earlier ones' data (tracing on testing's positives, command on
    # everything), so the discovered order is the one the demo was written for.
    assert [s.step for s in registry.demo_steps()] == [
        "fangkong.tracing.demo.stale_data_forget",
        "fangkong.testing.demo.testing_demo",
        "fangkong.voluntary.demo.voluntary_demo",
        "fangkong.tracing.demo.tracing_demo",
        "fangkong.places.demo.places_demo",
        "fangkong.control.demo.control_demo",
        "fangkong.care.demo.care_demo",
        "fangkong.checkpoints.demo.checkpoints_demo",
        "fangkong.screening.demo.screening_demo",  # needs checkpoints' risk areas
        "fangkong.supplies.demo.supplies_demo",
        "fangkong.vaccination.demo.vaccination_demo",
        "fangkong.command.demo.command_demo",
        "fangkong.resumption.demo.resumption_demo",
        "fangkong.analytics.demo.analytics_demo",
        "fangkong.drills.demo.drills_demo",
    ]


def test_two_steps_with_one_order_are_refused(monkeypatch):
    monkeypatch.setattr(registry, "_demo_steps", {})
    registry.demo_step(1, "a.b.c")
    with pytest.raises(ValueError):
        registry.demo_step(1, "a.b.d")
