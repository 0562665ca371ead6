"""API tokens: remembered for a few seconds per process, forgotten when the account changes or
the token is deleted, and never let anything through that the plain check would refuse (a dead
token is a 401, not DRF's 403, so that a client knows to log in again)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fangkong.accounts import authentication


@pytest.fixture
def token_client(make_user):
    authentication.RememberingTokenAuthentication.forget()
    user = make_user(role="district", node="district")
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    client.user, client.token = user, token
    return client


def token_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/people/").status_code == 200
    return sum("authtoken_token" in q["sql"] for q in queries.captured_queries)


def test_the_token_is_looked_up_once_then_remembered(token_client):
    assert token_queries(token_client) == 1
    assert token_queries(token_client) == 0


def test_remembered_only_for_the_ttl(token_client, monkeypatch):
    assert token_queries(token_client) == 1
    later = authentication.time.monotonic() + authentication.TOKEN_TTL + 1
    monkeypatch.setattr(authentication.time, "monotonic", lambda: later)
    assert token_queries(token_client) == 1


def test_a_deleted_token_or_deactivated_account_is_refused_at_once(token_client, make_user):
    assert token_client.get("/api/v1/people/").status_code == 200
    token_client.token.delete()
    assert token_client.get("/api/v1/people/").status_code == 401
    other = make_user(role="district", node="district")
    token = Token.objects.create(user=other)
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert token_client.get("/api/v1/people/").status_code == 200
    other.is_active = False
    other.save()
    assert token_client.get("/api/v1/people/").status_code == 401


def test_an_unknown_token_is_refused(token_client):
    token_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert token_client.get("/api/v1/people/").status_code == 401
    assert token_client.get("/api/v1/people/").status_code == 401
