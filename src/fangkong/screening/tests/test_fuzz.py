"""The screening endpoints fuzzed against their own OpenAPI schema (schemathesis, in process):
no 500, every answer as the schema says, for a grid worker and for district HQ staff."""

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

from config.wsgi import application  # noqa: E402

# The checks .ci/fuzz runs: no server error, every answer as the schema describes it.
CHECKS = [not_a_server_error, response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(
    path_regex="^/api/v1/screening/"
)


@pytest.fixture
def tokens(tree, homes, make_user, client):
    from fangkong.screening import services

    services.campaign_open(
        actor=None,
        jurisdiction=tree["district"],
        name="排查",
        deadline=timezone.now() + dt.timedelta(days=2),
    )
    out = {}
    for role, node in (("grid_worker", "grid_a"), ("hq_staff", "district")):
        user = make_user(role, node, username=f"fuzz-{role}")
        user.set_password("fuzz-pass-2022")
        user.save()
        answer = client.post(
            "/api/v1/auth/token/",
            {"username": user.username, "password": "fuzz-pass-2022"},
            content_type="application/json",
        )
        out[role] = answer.json()["token"]
    return out


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_screening_api_against_its_schema(case, tokens):
    for token in tokens.values():
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
