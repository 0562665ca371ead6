"""Friendly 404/403/500 pages in the user's language, with DEBUG off and on; never the
resolver's pattern list."""

import pytest
from django.conf import settings
from django.test import override_settings

from fangkong.tracing.tests.factories import open_case


@pytest.fixture
def case_c(people):
    return open_case(people["c"][0])


def get(client, user, url, lang="zh-hans"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    return client.get(url)


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_url_is_a_friendly_404_in_chinese(client, make_user, debug):
    with override_settings(DEBUG=debug):
        response = get(client, make_user(), "/no/such/page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in body and 'data-status="404"' in body
    assert "URL patterns" not in body and "URLconf" not in body


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_url_in_english(client, make_user, debug):
    with override_settings(DEBUG=debug):
        response = get(client, make_user(), "/no/such/page/", lang="en")
    body = response.content.decode()
    assert response.status_code == 404 and "Not found" in body
    assert "URL patterns" not in body


@pytest.mark.parametrize("debug", [False, True])
def test_object_outside_scope_is_404_without_debug_page(client, make_user, case_c, debug):
    with override_settings(DEBUG=debug):
        response = get(
            client,
            make_user(role="epidemiologist", node="district"),
            f"/tracing/cases/{case_c.pk}/",
        )
    body = response.content.decode()
    assert response.status_code == 404
    assert case_c.code not in body and "Traceback" not in body and "URLconf" not in body


@pytest.mark.parametrize("lang,text", [("zh-hans", "无权访问"), ("en", "Not allowed")])
def test_forbidden_page_is_friendly_in_both_languages(client, make_user, lang, text):
    response = get(client, make_user(role="grid_worker"), "/analytics/", lang=lang)
    body = response.content.decode()
    assert response.status_code == 403
    assert text in body and 'data-status="403"' in body
    assert "/tracing/leads/" in body  # the page keeps the user's own menu


def test_server_error_with_debug_on_is_friendly(client, make_user, monkeypatch):
    from fangkong.workday import homes

    def boom(user):
        raise RuntimeError("boom")

    monkeypatch.setitem(homes.HOMES, "grid_worker", [boom])
    with override_settings(DEBUG=True):
        response = get(client, make_user(role="grid_worker"), "/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "服务器出错" in body and "boom" not in body and "Traceback" not in body


def test_server_error_page_renders_without_a_request():
    from django.template.loader import get_template
    from django.utils import translation

    with translation.override("en"):
        assert "Server error" in get_template("500.html").render()
