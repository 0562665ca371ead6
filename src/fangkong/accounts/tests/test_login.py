"""Login page and API tokens: throttling, audit of logins, the language switch."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from fangkong.audit.models import AuditEntry


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_login_and_audit(client, make_user):
    user = make_user(username="wang")
    response = client.post("/login/", {"username": "wang", "password": "pass-1234"})
    assert response.status_code == 302 and response.url == "/"
    entry = AuditEntry.objects.get(action="login")
    assert entry.actor_id == user.pk and entry.jurisdiction_path == user.jurisdiction.path


def test_login_throttled_after_ten_failures(client, make_user):
    make_user(username="li")
    for _ in range(10):
        page = client.post("/login/", {"username": "li", "password": "wrong"})
        assert page.status_code == 200
    assert AuditEntry.objects.filter(action="login_failed").count() == 10
    # Even the right password is refused while the pause lasts.
    page = client.post("/login/", {"username": "li", "password": "pass-1234"})
    assert page.status_code == 200
    assert "_auth_user_id" not in client.session


def test_token_endpoint_and_throttle(make_user):
    make_user(username="zhao")
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": "zhao", "password": "pass-1234"})
    token = response.json()["token"]
    authed = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    me = authed.get("/api/v1/me/").json()
    assert me["username"] == "zhao" and me["jurisdiction_code"] == "320102001001G01"
    assert me["may_see_personal_data"] is True
    codes = [
        client.post("/api/v1/auth/token/", {"username": "zhao", "password": "x"}).status_code
        for _ in range(10)
    ]
    assert codes[-1] == 429


def test_chinese_by_default_english_switchable(client, make_user):
    client.force_login(make_user(role="commander", node="city"))
    assert "人口" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Population" in client.get("/").content.decode()


def test_home_counts_scoped(client, make_user, people):
    client.force_login(make_user())
    page = client.get("/").content.decode()
    assert "<b>3</b>" in page


def test_browser_language_does_not_override_chinese(client, make_user):
    client.force_login(make_user(role="commander", node="city"))
    assert "人口" in client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()


def test_navigation_marks_one_current_module(client, make_user):
    client.force_login(make_user(role="commander", node="city"))
    page = client.get("/testing/rechecks/").content.decode()
    assert page.count('class="active"') == 1
    assert 'href="/testing/rechecks/" class="active"' in page
