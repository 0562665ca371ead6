"""The login throttle: one counter for every worker process and for both doors (the page and
the token API), per account and per address, cleared by a success, audited, and closed with a
clear refusal when its store is down."""

import socket
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.test import override_settings
from rest_framework.test import APIClient

from fangkong.accounts import services
from fangkong.audit.models import AuditEntry

NAT = "10.0.0.1"
TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def empty_counters(db):
    caches["shared"].clear()


def page(client, username, password, ip=NAT):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def api(username, password, ip=NAT):
    return APIClient().post(TOKEN_URL, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_page_locks_at_exactly_the_limit_even_for_the_right_password(client, make_user):
    make_user(username="li")
    for _ in range(settings.LOGIN_THROTTLE["attempts"]):
        response = page(client, "li", "wrong")
        assert response.status_code == 200 and "登录失败次数过多" not in response.content.decode()
    assert AuditEntry.objects.filter(action="login_failed", object_repr="li").count() == 10
    refused = page(client, "li", "pass-1234")
    assert refused.status_code == 200 and not logged_in(client)
    assert "登录失败次数过多" in refused.content.decode()


def test_page_and_api_failures_add_up_in_the_shared_store(client, make_user):
    make_user(username="zhou")
    for _ in range(5):
        page(client, "zhou", "wrong")
    codes = {api("zhou", "wrong").json()["code"] for _ in range(5)}
    assert codes == {"invalid"}
    refused = api("zhou", "pass-1234")
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert not logged_in(client) and page(client, "zhou", "pass-1234").status_code == 200
    # Another worker process has its own cache objects: a new client on the same table is one.
    user_key, addr_key, _ = services._keys("zhou", NAT)
    other_process = DatabaseCache(settings.CACHES["shared"]["LOCATION"], {})
    assert other_process.get(user_key) == 10 and other_process.get(addr_key) == 10


def test_a_success_clears_the_account_counter(client, make_user):
    make_user(username="qian")
    for _ in range(9):
        assert api("qian", "wrong").status_code == 400
    assert api("qian", "pass-1234").status_code == 200
    user_key, addr_key, share_key = services._keys("qian", NAT)
    assert caches["shared"].get_many([user_key, addr_key, share_key]) == {}
    for _ in range(9):
        page(client, "qian", "wrong")
    assert page(client, "qian", "pass-1234").status_code == 302 and logged_in(client)


def test_one_users_failures_do_not_lock_out_the_others_behind_the_address(make_user):
    for name in "abcde":
        make_user(username=name)
    # With the settings as shipped (10 per account, 50 per address) one user alone never can.
    assert [api("a", "wrong").status_code for _ in range(11)] == [400] * 10 + [429]
    assert api("b", "pass-1234").status_code == 200
    # The arithmetic, with small limits: an address locks once 5 unforgiven failures add up.
    throttle = {"attempts": 3, "address_attempts": 5, "window_seconds": 300}
    caches["shared"].clear()
    with override_settings(LOGIN_THROTTLE=throttle):
        assert [api("a", "wrong").status_code for _ in range(4)] == [400, 400, 400, 429]
        assert api("b", "pass-1234").status_code == 200  # a alone counts 3 of the address's 5
        api("c", "wrong")  # 4 of 5
        assert api("c", "pass-1234").status_code == 200  # c's one failure is forgiven: 3 of 5
        assert [api("d", "wrong").status_code for _ in range(2)] == [400, 400]  # 5 of 5
        refused = api("e", "pass-1234")
        assert refused.status_code == 429 and refused.json()["code"] == "throttled"
        assert api("e", "pass-1234", ip="10.9.9.9").status_code == 200


def test_token_failures_and_logins_are_audited_like_the_pages(make_user):
    user = make_user(username="sun")
    api("sun", "wrong")
    api("nobody", "wrong")
    failed = AuditEntry.objects.filter(action="login_failed").order_by("id")
    assert [(e.object_id, e.object_repr, e.changes) for e in failed] == [
        (str(user.pk), "sun", {"via": "api"}),
        ("", "nobody", {"via": "api"}),
    ]
    assert failed[0].jurisdiction_path == user.jurisdiction.path
    api("sun", "pass-1234")
    entry = AuditEntry.objects.get(action="login")
    assert (entry.actor_id, entry.changes) == (user.pk, {"via": "api"})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def store_down():
    down = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    with override_settings(CACHES={**settings.CACHES, "shared": down}):
        yield


def test_store_down_the_api_refuses_with_503_not_500(make_user, store_down):
    make_user(username="wu")
    for password in ("pass-1234", "wrong"):
        response = api("wu", password)
        assert response.status_code == 503 and response.json()["code"] == "unavailable"
        assert response["Retry-After"] == "30"
    assert not AuditEntry.objects.filter(action="login").exists()


def test_store_down_the_page_says_so_and_logs_nobody_in(client, make_user, store_down):
    make_user(username="wu")
    response = page(client, "wu", "pass-1234")
    assert response.status_code == 200 and not logged_in(client)
    assert "统计登录失败的服务暂不可用" in response.content.decode()


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_with_redis_the_same_rules_hold(make_user):
    redis = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # alone on a Redis others may share
    }
    make_user(username="he")
    with override_settings(CACHES={**settings.CACHES, "shared": redis}):
        try:
            assert {api("he", "wrong").status_code for _ in range(10)} == {400}
            assert api("he", "pass-1234").status_code == 429
            user_key, addr_key, _ = services._keys("he", NAT)
            store = caches["shared"]
            assert store.get(user_key) == 10
            ttl = store._cache.get_client().ttl(store.make_and_validate_key(user_key))
            assert 290 <= ttl <= 300
            store.delete(user_key)
            assert api("he", "pass-1234").status_code == 200
            assert store.get(addr_key) is None  # he's ten failures forgiven at the address too
        finally:
            # Not clear(): on Redis that empties the whole database, others' keys too.
            caches["shared"].delete_many(services._keys("he", NAT))
