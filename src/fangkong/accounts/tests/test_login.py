"""Login page: audit of logins, the overview, the language switch (the throttle: test_throttle)."""

from fangkong.audit.models import AuditEntry


def test_login_and_audit(client, make_user):
    user = make_user(username="wang")
    response = client.post("/login/", {"username": "wang", "password": "pass-1234"})
    assert response.status_code == 302 and response.url == "/"
    entry = AuditEntry.objects.get(action="login")
    assert entry.actor_id == user.pk and entry.jurisdiction_path == user.jurisdiction.path
    assert entry.changes == {"via": "page"}


def test_chinese_by_default_english_switchable(client, make_user):
    client.force_login(make_user(role="commander", node="city"))
    # The commander's home is the big screen (issue 16): "/" redirects there.
    assert "人口" in client.get("/", follow=True).content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Population" in client.get("/", follow=True).content.decode()


def test_home_counts_scoped(client, make_user, people):
    # The jurisdiction overview is the administrator's home (the other roles': their day).
    client.force_login(make_user(role="admin"))
    page = client.get("/").content.decode()
    assert "<b>3</b>" in page


def test_browser_language_does_not_override_chinese(client, make_user):
    client.force_login(make_user(role="commander", node="city"))
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9", follow=True)
    assert "人口" in page.content.decode()


def test_navigation_marks_one_current_module(client, make_user):
    client.force_login(make_user(role="commander", node="city"))
    page = client.get("/testing/rechecks/").content.decode()
    assert page.count('class="active"') == 1
    assert 'href="/testing/rechecks/" class="active"' in page
