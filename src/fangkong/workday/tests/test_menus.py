"""Each role's menu is exactly the module pages it may open: every entry answers 200, every
other module page 403; the grid worker's menu is its day's work, not the command centre's."""

import pytest
from django.urls import reverse

from fangkong.accounts.roles import Role
from fangkong.common import registry
from fangkong.common.context import navigation
from fangkong.workday.middleware import nav_allowed

ROLES = [r for r in Role.values]


def menu_of(client, user):
    client.force_login(user)
    response = client.get("/audit/" if user.role in ("auditor", "admin") else "/alerts/")
    return {e["url"] for e in response.context["nav_entries"]}


@pytest.mark.parametrize("role", ROLES)
def test_every_menu_entry_opens_and_every_other_module_page_is_refused(client, make_user, role):
    user = make_user(role=role, node="district")
    client.force_login(user)
    menu = menu_of(client, user)
    assert reverse("home") in menu
    for entry in registry.nav_entries():
        url = reverse(entry.url_name)
        response = client.get(url, follow=True)
        if url in menu:
            assert response.status_code == 200, (role, url, response.status_code)
        else:
            assert response.status_code == 403, (role, url, response.status_code)
            assert not nav_allowed(user, entry.url_name)


def test_grid_worker_menu_is_the_grid_day(client, make_user):
    user = make_user(role="grid_worker", node="grid_a")
    menu = menu_of(client, user)
    for name in (
        "tracing:worklist",
        "control:checks",
        "testing:rounds",
        "people:search",
        "screening:work",
        "vaccination:lists",
    ):
        assert reverse(name) in menu
    for name in (
        "analytics:dashboard",
        "command:bulletins",
        "supplies:overview",
        "tracing:chains",
        "audit:list",
    ):
        assert reverse(name) not in menu
    # 13 before the door-to-door visits, vaccination lists, key places and campaigns of issue 13/14
    assert len(menu) <= 18


def test_commander_menu_has_the_command_centre(client, make_user):
    menu = menu_of(client, make_user(role="commander", node="city"))
    for name in (
        "analytics:dashboard",
        "command:bulletins",
        "command:response-level",
        "tracing:chains",
        "care:overview",
        "supplies:overview",
    ):
        assert reverse(name) in menu
    assert reverse("audit:list") not in menu


def test_navigation_is_empty_for_anonymous(rf):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    assert navigation(request) == {}
