"""The OpenAPI schema tells the truth: null where null comes out, bare lists where no page is
made, the real shape of each figure endpoint, the error body of every refusal; and date-times
are taken only within a sane range and always written as RFC 3339."""

import datetime as dt

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from fangkong.common.fields import DateTimeField


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _component(schema, name):
    return schema["components"]["schemas"][name]


def _body(schema, path, method="get", code="200"):
    return schema["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    "component, field",
    [
        ("Alert", "acknowledged_by"),
        ("DailyReport", "signed_by"),
        ("Order", "room"),
        ("ImportJob", "actor"),
        ("Jurisdiction", "parent_code"),
        ("Request", "deliver_to"),
        ("Tube", "lab"),
        ("Box", "lab"),
        ("Case", "cluster_event"),
        ("Contact", "case"),
        ("Arrival", "order_measure"),
        ("Arrival", "risk_area"),
        ("Me", "jurisdiction_code"),
    ],
)
def test_fields_that_answer_null_are_nullable(schema, component, field):
    assert _component(schema, component)["properties"][field].get("nullable") is True


def test_fields_that_never_answer_null_stay_plain(schema):
    tube = _component(schema, "Tube")["properties"]
    assert "nullable" not in tube["round"]  # source round.code: the foreign key is required
    assert "nullable" not in _component(schema, "CaseDetail")["properties"]["history"]
    # A number, as the detail's raw dict is rendered, not a decimal string.
    overlap = _component(schema, "Link")["properties"]["overlap_minutes"]
    assert overlap["type"] == "number" and overlap["nullable"] is True
    # A stored file is written as its scoped download path ("/command/tasks/…"), or null.
    attachment = _component(schema, "TaskUpdate")["properties"]["attachment"]
    assert attachment["type"] == "string" and attachment["nullable"] is True


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/care/facilities/{id}/beds/",
        "/api/v1/jurisdictions/{code}/children/",
        "/api/v1/supplies/warehouses/{code}/stock/",
        "/api/v1/testing/rounds/{code}/throughput/",
        "/api/v1/tracing/cases/intervals/",
        "/api/v1/tracing/cases/{id}/travels/",
        "/api/v1/tracing/clusters/components/",
    ],
)
def test_bare_lists_are_not_documented_as_pages(schema, path):
    assert _body(schema, path)["type"] == "array"


def test_actions_that_page_are_documented_as_pages(schema):
    for path, item in [
        ("/api/v1/testing/rounds/{code}/untested/", "Untested"),
        ("/api/v1/testing/rounds/{code}/missed/", "Missed"),
        ("/api/v1/testing/rounds/{code}/overdue/", "OverdueTube"),
    ]:
        assert _body(schema, path) == {"$ref": f"#/components/schemas/Paginated{item}List"}
    assert _body(schema, "/api/v1/supplies/movements/", "post", "201")["type"] == "array"


@pytest.mark.parametrize(
    "path, method, component",
    [
        ("/api/v1/testing/rounds/{code}/progress/", "get", "Progress"),
        ("/api/v1/testing/rounds/{code}/positives/", "get", "Positives"),
        ("/api/v1/testing/rounds/{code}/turnaround/", "get", "Turnaround"),
        ("/api/v1/control/orders/board/", "get", "Board"),
        ("/api/v1/control/orders/assign-rooms/", "post", "RoomsAssigned"),
        ("/api/v1/control/sites/occupancy/", "get", "SiteOccupancy"),
        ("/api/v1/analytics/dashboard/", "get", "Dashboard"),
        ("/api/v1/analytics/situation/", "get", "Situation"),
    ],
)
def test_figure_endpoints_document_their_own_shape(schema, path, method, component):
    assert _body(schema, path, method) == {"$ref": f"#/components/schemas/{component}"}


def test_lab_results_answer_one_outcome_per_result(schema):
    for code in ("200", "207", "409"):
        body = _body(schema, "/api/v1/testing/results/", "post", code)
        assert body == {"type": "array", "items": {"$ref": "#/components/schemas/ResultOutcome"}}


# Refusals that answer their own body: lab results' outcomes, an import's failed job (people, doses).
OWN_REFUSALS = {
    ("/api/v1/testing/results/", "409"),
    ("/api/v1/people/import/", "400"),
    ("/api/v1/vaccination/doses/import/", "400"),
}


def test_every_refusal_is_documented_with_the_error_body(schema):
    error = {"$ref": "#/components/schemas/Error"}
    assert set(_component(schema, "Error")["required"]) == {"code", "detail"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if "{" in path:
                assert _body(schema, path, method, "404") == error, (method, path)
            for code in responses.keys() & {"400", "401", "403", "404", "409", "413", "429"}:
                if (path, code) not in OWN_REFUSALS:
                    assert _body(schema, path, method, code) == error, (method, path, code)
            if method == "post" and "security" in operation:
                assert {"400", "403", "409"} <= responses.keys(), (method, path)
            elif method == "post":  # open to anyone (the token login, a resident's booking)
                assert "400" in responses and "403" not in responses, (method, path)
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert {"400", "429"} <= token.keys() and "403" not in token
    assert "413" in schema["paths"]["/api/v1/people/import/"]["post"]["responses"]
    # A node named in the query, or a case named in the body, may be outside the subtree.
    assert "404" in schema["paths"]["/api/v1/analytics/dashboard/"]["get"]["responses"]
    assert "404" in schema["paths"]["/api/v1/care/admissions/"]["post"]["responses"]
    assert "404" not in schema["paths"]["/api/v1/me/"]["get"]["responses"]


def test_datetimes_outside_the_range_are_refused(make_user):
    client = APIClient()
    client.force_authenticate(make_user(role="auditor", node="city"))
    response = client.get("/api/v1/audit/", {"since": "0319-11-21T17:09:17"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "since" in body["fields"]
    assert client.get("/api/v1/audit/", {"since": "2101-01-01T00:00:00Z"}).status_code == 400
    assert client.get("/api/v1/audit/", {"since": "2022-03-01T08:00:00+08:00"}).status_code == 200


def test_datetimes_are_written_as_rfc3339():
    field = DateTimeField()
    assert field.to_representation(dt.datetime(2022, 3, 1, 0, 0, tzinfo=dt.UTC)) == (
        "2022-03-01T08:00:00+08:00"
    )
    # Before 1901 Shanghai is local mean time, +08:05:43: a stored old value is written in UTC.
    assert field.to_representation(dt.datetime(1900, 1, 1, 12, 0, tzinfo=dt.UTC)) == (
        "1900-01-01T12:00:00Z"
    )
