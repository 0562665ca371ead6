"""The scanner API's one-statement scan is prepared once per connection, and its usual body skips building ScanSerializer (api._plain_scan): whatever it
accepts, ScanSerializer accepts with the same values; anything else goes to ScanSerializer."""

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from fangkong.testing.api import ScanSerializer, _plain_scan

from .factories import SiteFactory, make_round

PLAIN = [
    {"round": "R1", "site": "SA", "barcode": "T1", "code": "110101199003070011"},
    {"round": " R1 ", "site": "SA\t", "barcode": " T1", "code": ""},
    {"round": "R1", "site": "SA", "barcode": "T1"},
    {"round": "R1", "site": "SA", "barcode": "x" * 40, "code": "  "},
    {"round": "12", "site": "SA", "barcode": "B\x1f", "code": "FKV:abc"},
]

NOT_PLAIN = [
    None,
    [],
    "text",
    {},
    {"round": "R1", "site": "SA", "barcode": "T1", "code": "c", "kind": "pool"},
    {"round": "R1", "site": "SA", "barcode": "T1", "confirm": True},
    {"round": "R1", "site": "SA", "barcode": "T1", "capacity": 5},
    {"round": "R1", "site": "SA", "code": "c"},
    {"round": "R1", "barcode": "T1"},
    {"round": "", "site": "SA", "barcode": "T1"},
    {"round": "R1", "site": "  ", "barcode": "T1"},
    {"round": "R1", "site": "SA", "barcode": "x" * 41},
    {"round": 7, "site": "SA", "barcode": "T1"},
    {"round": True, "site": "SA", "barcode": "T1"},
    {"round": "R1", "site": "SA", "barcode": "T1", "code": None},
    {"round": "R1", "site": "SA", "barcode": "T\x001"},
    {"round": "R1", "site": "SA", "barcode": "管1"},
    {"round": "R1", "site": "SA", "barcode": "T1", "other": "x"},
]


@pytest.mark.parametrize("body", PLAIN)
def test_plain_body_same_as_serializer(body):
    serializer = ScanSerializer(data=body)
    assert serializer.is_valid(), serializer.errors
    assert _plain_scan(body) == dict(serializer.validated_data)


@pytest.mark.parametrize("body", NOT_PLAIN)
def test_anything_else_goes_to_the_serializer(body):
    assert _plain_scan(body) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_one_statement_scan_is_prepared_once(make_user, tree, people):
    """Django connects with psycopg's prepare_threshold None, which made prepare=True a no-op:
    the one-statement scan was planned afresh on every scan."""
    make_round("R1", tree["city"], pool_size=10)
    SiteFactory(code="SA", jurisdiction=tree["grid_a"])
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_authenticate(make_user(role="sampler", node="grid_a"))
    a = people["a"]
    for k, person in enumerate(a[:4]):
        body = {"round": "R1", "site": "SA", "barcode": "T1", "code": person.document_number}
        answer = client.post("/api/v1/testing/tubes/scan/", body, format="json")
        assert answer.status_code == 201, answer.json()
        assert answer.json()["tube"]["members"] == k + 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH g AS (SELECT r.*%%'"
        )
        runs = [n for (n,) in cursor.fetchall()]
    # One prepared statement, run for the swabs into the open tube (the first scan opened it).
    assert len(runs) == 1 and runs[0] >= 3, runs
