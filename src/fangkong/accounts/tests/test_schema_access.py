"""The API's schema and docs page: open in the demo and development, login-only in production."""

import importlib
import sys

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@override_settings(PUBLIC_SCHEMA=False)
def test_closed_schema_needs_a_login(client, make_user):
    anonymous = APIClient().get("/api/schema/?format=json")
    assert anonymous.status_code == 403 and anonymous.json()["code"] == "not_authenticated"
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs.url == "/login/?next=/api/docs/"
    user = make_user()
    token = Token.objects.create(user=user)
    schema = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}").get("/api/schema/?format=json")
    assert schema.status_code == 200 and "/api/v1/auth/token/" in schema.json()["paths"]
    client.force_login(user)
    assert client.get("/api/docs/").status_code == 200


@override_settings(PUBLIC_SCHEMA=True)
def test_open_schema_is_served_to_anyone(client, db):
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize(("env", "public"), [(None, False), ("1", True)])
def test_production_closes_the_schema_unless_told(monkeypatch, env, public):
    monkeypatch.setenv("FANGKONG_SECRET_KEY", "test-only-" + "k3y-" * 12)
    if env is None:
        monkeypatch.delenv("FANGKONG_PUBLIC_SCHEMA", raising=False)
    else:
        monkeypatch.setenv("FANGKONG_PUBLIC_SCHEMA", env)
    sys.modules.pop("config.settings.prod", None)
    try:
        prod = importlib.import_module("config.settings.prod")
        assert prod.PUBLIC_SCHEMA is public
    finally:
        sys.modules.pop("config.settings.prod", None)
