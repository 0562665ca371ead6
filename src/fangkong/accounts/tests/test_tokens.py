"""API tokens: issued by the throttled login, expiring, revoked by a password change and by
their holder, and refused at once in this process when dead, remembered or not."""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fangkong.accounts import authentication
from fangkong.audit.models import AuditEntry

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def fresh(db):
    caches["shared"].clear()
    authentication.RememberingTokenAuthentication.forget()


def obtain(username="zhao", password="pass-1234"):
    return APIClient().post(TOKEN_URL, {"username": username, "password": password})


def holding(key) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}")


def test_a_token_for_the_password_and_who_it_belongs_to(make_user):
    make_user(username="zhao")
    before = timezone.now()
    body = obtain().json()
    expires = parse_datetime(body["expires_at"])
    assert before + timedelta(hours=12) <= expires <= timezone.now() + timedelta(hours=12)
    me = holding(body["token"]).get("/api/v1/me/").json()
    assert me["username"] == "zhao" and me["jurisdiction_code"] == "320102001001G01"


@override_settings(API_TOKEN_TTL=timedelta(minutes=30))
def test_the_lifetime_is_a_setting(make_user):
    make_user(username="zhao")
    expires = parse_datetime(obtain().json()["expires_at"])
    assert timedelta(minutes=29) < expires - timezone.now() <= timedelta(minutes=30)


def test_an_expired_token_is_refused_with_401_and_deleted(make_user):
    make_user(username="zhao")
    key = obtain().json()["token"]
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(hours=13))
    response = holding(key).get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "token_expired"
    assert response["WWW-Authenticate"] == "Token"
    assert not Token.objects.filter(key=key).exists()


def test_a_remembered_token_is_refused_once_it_expires(make_user, monkeypatch):
    make_user(username="zhao")
    client = holding(obtain().json()["token"])
    assert client.get("/api/v1/me/").status_code == 200  # now in this process's memory
    later = timezone.now() + timedelta(hours=12, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "token_expired"


def test_logging_in_again_extends_the_same_token(make_user):
    make_user(username="zhao")
    key = obtain().json()["token"]
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(hours=11))
    again = obtain().json()
    assert again["token"] == key
    assert parse_datetime(again["expires_at"]) > timezone.now() + timedelta(hours=11, minutes=59)
    Token.objects.filter(key=key).update(created=timezone.now() - timedelta(hours=13))
    assert obtain().json()["token"] != key  # an expired one is replaced, not extended


def test_a_password_change_revokes_the_token_at_once(make_user):
    user = make_user(username="zhao")
    key = obtain().json()["token"]
    client = holding(key)
    assert client.get("/api/v1/me/").status_code == 200  # remembered
    user.set_password("a-new-long-passphrase")
    user.save()
    response = client.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    assert not Token.objects.filter(user=user).exists()
    assert obtain(password="pass-1234").status_code == 400
    assert obtain(password="a-new-long-passphrase").json()["token"] != key


def test_saving_the_account_without_a_new_password_keeps_the_token(make_user):
    user = make_user(username="zhao")
    key = obtain().json()["token"]
    user.display_name = "赵"
    user.save()
    assert holding(key).get("/api/v1/me/").status_code == 200


def test_the_holder_revokes_the_token(make_user):
    user = make_user(username="zhao")
    key = obtain().json()["token"]
    client = holding(key)
    assert client.get("/api/v1/me/").status_code == 200  # remembered
    assert client.delete(TOKEN_URL).status_code == 204
    response = client.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    entry = AuditEntry.objects.get(action="delete", object_type="authtoken.token")
    assert (entry.actor_id, entry.object_id) == (user.pk, str(user.pk))
    assert key not in entry.object_repr
    assert APIClient().delete(TOKEN_URL).status_code == 403  # nobody to revoke for


def test_a_session_user_revokes_their_token_too(client, make_user):
    user = make_user(username="zhao")
    key = obtain().json()["token"]
    client.force_login(user)
    assert client.delete(TOKEN_URL).status_code == 204
    assert not Token.objects.filter(key=key).exists()


def test_logging_in_works_with_a_dead_token_still_in_the_header(make_user):
    make_user(username="zhao")
    client = holding("0" * 40)
    response = client.post(TOKEN_URL, {"username": "zhao", "password": "pass-1234"})
    assert response.status_code == 200 and len(response.json()["token"]) == 40
