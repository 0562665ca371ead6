"""The application's database role cannot rewrite the audit log (PostgreSQL deployments).

CI runs the suite on PostgreSQL as the app role that `fangkong db-roles` creates (.ci/run): the
owner migrated the tables, the app connects with no ownership. Each way the log was rewritten
in issue 11 (UPDATE, DELETE, TRUNCATE, disabling or dropping the trigger, replica mode) fails
with a permission error, and appending through the audit service still works.
"""

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from fangkong.audit.models import AuditEntry
from fangkong.audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def app_role(db):
    if connection.vendor != "postgresql":
        pytest.skip("database roles are PostgreSQL's")
    if not settings.MIGRATE_DATABASE_URL:
        pytest.skip("the suite runs as the owner: set FANGKONG_MIGRATE_DATABASE_URL (.ci/run)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, (SELECT count(*) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
            "AND pg_has_role(c.relowner, 'USAGE')) FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, owned = cursor.fetchone()
    assert (superuser, owned) == (False, 0), f"{user} owns {owned} relations"
    return user


@pytest.mark.parametrize(
    "statement, refusal",
    [
        ("UPDATE audit_auditentry SET action = 'login'", "permission denied"),
        ("DELETE FROM audit_auditentry", "permission denied"),
        ("TRUNCATE audit_auditentry", "permission denied"),
        ("ALTER TABLE audit_auditentry DISABLE TRIGGER ALL", "must be owner"),
        ("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_no_change", "must be owner"),
        ("DROP TRIGGER audit_no_change ON audit_auditentry", "must be owner"),
        ("SET session_replication_role = replica", "permission denied"),
        ("DROP TABLE audit_auditentry", "must be owner"),
        ("CREATE TABLE audit_copy (id int)", "permission denied for schema public"),
    ],
)
def test_app_role_cannot_rewrite_the_log(app_role, statement, refusal):
    entry = audit_record(actor=None, action="export", object_type="people.person")
    with pytest.raises(DatabaseError, match=refusal), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.get(pk=entry.pk).action == "export"
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"


def test_app_role_appends_and_reads(app_role):
    before = AuditEntry.objects.count()
    entry = audit_record(actor=None, action="export", object_type="people.person", object_id="7")
    assert AuditEntry.objects.count() == before + 1
    assert AuditEntry.objects.get(pk=entry.pk).object_id == "7"
