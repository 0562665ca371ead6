"""The audit log: append-only in the database, searchable by auditors within their subtree."""

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from fangkong.audit.models import AuditEntry
from fangkong.audit.services import audit_record
from fangkong.geo.services import jurisdiction_create


def test_entries_cannot_be_changed(make_user):
    entry = audit_record(actor=make_user(), action="export", object_type="people.person")
    entry.action = "login"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="login")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "export"


def test_writes_are_audited_with_fields(make_user, tree):
    admin = make_user(role="admin", node="city")
    node = jurisdiction_create(
        actor=admin, code="320102001001G03", level="grid", name="第三网格", parent=tree["community"]
    )
    entry = AuditEntry.objects.get(action="create", object_id=str(node.pk))
    assert entry.changes == {
        "code": [None, "320102001001G03"],
        "level": [None, "grid"],
        "name": [None, "第三网格"],
    }
    assert entry.jurisdiction_path == node.path


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_auditors_see_their_subtree_only(make_user, people):
    person_a, person_c = people["a"][0], people["c"][0]
    audit_record(actor=None, action="view_pii", obj=person_a)
    audit_record(actor=None, action="view_pii", obj=person_c)
    district_auditor = _client(make_user(role="auditor", node="district"))
    rows = district_auditor.get("/api/v1/audit/", {"action": "view_pii"}).json()["results"]
    assert [row["object_id"] for row in rows] == [str(person_a.pk)]
    city_auditor = _client(make_user(role="auditor", node="city"))
    assert city_auditor.get("/api/v1/audit/", {"action": "view_pii"}).json()["count"] == 2


def test_only_auditors_read_the_log(make_user, client, tree):
    assert (
        _client(make_user(role="commander", node="city")).get("/api/v1/audit/").status_code == 403
    )
    client.force_login(make_user(role="grid_worker"))
    assert client.get("/audit/").status_code == 403


def test_audit_page_filters(make_user, client, people):
    audit_record(actor=None, action="export", obj=people["a"][0])
    client.force_login(make_user(role="auditor", node="city"))
    page = client.get("/audit/", {"action": "export"}).content.decode()
    assert people["a"][0].name in page
    assert "people.person" in page
