"""Read replica: pages and API GETs read from `replica`, writes (and the audit log) go to the
primary, a client that just wrote reads the primary, and the drills' sandbox router still wins.

The replica here is a second connection to the same test database (what a mirror is), added at
run time so the rest of the suite runs without one; its queries are captured per alias."""

import pytest
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from fangkong.audit.models import AuditEntry
from fangkong.common import jobs, replica
from fangkong.drills import routing as drill_routing
from fangkong.drills.models import Drill
from fangkong.people.models import Person


@pytest.fixture
def mirror(transactional_db):
    """`replica`: a second connection to the test database. Transactional: the replica sees
    only what the primary committed, as a real one does."""
    connections.settings[replica.REPLICA] = {**connections[DEFAULT_DB_ALIAS].settings_dict}
    # Opened here: the test case forbids opening an alias it was not declared with, and this
    # one did not exist when it was declared.
    connections[replica.REPLICA].connect()
    try:
        yield connections[replica.REPLICA]
    finally:
        connections[replica.REPLICA].close()
        del connections[replica.REPLICA]
        del connections.settings[replica.REPLICA]


def _tables(queries) -> str:
    return " ".join(q["sql"] for q in queries.captured_queries)


class Capture:
    """Queries of both aliases during a block."""

    def __enter__(self):
        self.primary = CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]).__enter__()
        self.replica = CaptureQueriesContext(connections[replica.REPLICA]).__enter__()
        return self

    def __exit__(self, *exc):
        self.replica.__exit__(*exc)
        self.primary.__exit__(*exc)


def test_without_a_replica_the_router_has_no_opinion(db):
    assert not replica.configured()
    with replica.reads_on_replica():
        assert router.db_for_read(Person) == DEFAULT_DB_ALIAS
        assert router.db_for_write(Person) == DEFAULT_DB_ALIAS
        assert replica.ReplicaRouter().db_for_read(Person) is None


def test_router_reads_on_replica_writes_on_primary(mirror):
    assert router.db_for_read(Person) == DEFAULT_DB_ALIAS  # outside a page request
    with replica.reads_on_replica():
        assert router.db_for_read(Person) == "replica"
        assert router.db_for_write(Person) == DEFAULT_DB_ALIAS
        # An instance read from the replica is saved to the primary, not back where it came from.
        assert router.db_for_write(Person, instance=Person(jpath="x")) == DEFAULT_DB_ALIAS
        # Read right after another request wrote them: always the primary.
        assert router.db_for_read(Session) == DEFAULT_DB_ALIAS
        # Reads inside a transaction on the primary decide a write: they must be current.
        with transaction.atomic():
            assert router.db_for_read(Person) == DEFAULT_DB_ALIAS
        with replica.primary():
            assert router.db_for_read(Person) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Person) == "replica"
        assert router.allow_relation(Person(), AuditEntry()) is True
    assert router.allow_migrate("replica", "people") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "people") is True


def test_the_drills_sandbox_wins_over_the_replica(mirror):
    token = drill_routing._alias.set("drill_42")  # as DrillMiddleware sets it, sandbox aside
    try:
        with replica.reads_on_replica():
            assert router.db_for_read(Person) == "drill_42"
            assert router.db_for_write(Person) == "drill_42"
            # The drill's bookkeeping stays on the live primary, not its replica.
            assert router.db_for_read(Drill) == DEFAULT_DB_ALIAS
    finally:
        drill_routing._alias.reset(token)


def test_a_page_get_reads_from_the_replica(mirror, client, make_user, people):
    client.force_login(make_user(role="grid_worker", node="grid_a"))
    with Capture() as queries:
        page = client.get("/people/")
    assert page.status_code == 200
    for person in people["a"]:
        assert person.name in page.content.decode()
    assert '"people_person"' in _tables(queries.replica)
    assert '"people_person"' not in _tables(queries.primary)
    # The login's session is read from the primary (written by the login request just before).
    assert '"django_session"' in _tables(queries.primary)
    assert '"django_session"' not in _tables(queries.replica)
    assert replica.STICKY_COOKIE not in page.cookies


def test_a_write_goes_to_the_primary_with_its_audit_then_the_writer_reads_the_primary(
    mirror, make_user, people
):
    user = make_user(role="grid_worker", node="grid_a")
    client = APIClient()
    client.force_authenticate(user)
    person = people["a"][0]

    with Capture() as queries:
        response = client.post(f"/api/v1/people/{person.pk}/reveal/")
    assert response.status_code == 200
    assert response.json()["document_number"] == person.document_number
    assert 'INSERT INTO "audit_auditentry"' in _tables(queries.primary)
    assert queries.replica.captured_queries == []
    entry = AuditEntry.objects.using(DEFAULT_DB_ALIAS).get(action="view_pii")
    assert (entry.actor_id, entry.object_id) == (user.pk, str(person.pk))
    cookie = response.cookies[replica.STICKY_COOKIE]
    assert (cookie.value, cookie["max-age"]) == ("1", 10)

    # Read-your-writes: the same client's next GET reads the primary…
    with Capture() as queries:
        listed = client.get("/api/v1/people/")
    assert len(listed.json()["results"]) == 3
    assert '"people_person"' in _tables(queries.primary)
    assert queries.replica.captured_queries == []

    # …and once the cookie has run out, the replica again.
    del client.cookies[replica.STICKY_COOKIE]
    with Capture() as queries:
        listed = client.get("/api/v1/people/")
    assert len(listed.json()["results"]) == 3
    assert '"people_person"' in _tables(queries.replica)
    assert '"people_person"' not in _tables(queries.primary)


def test_a_job_run_in_a_page_request_reads_the_primary(mirror, people):
    seen = {}

    def job():
        seen["alias"] = router.db_for_read(Person)

    jobs_module = type(jobs)("fangkong_replica_job")
    jobs_module.job = job
    import sys

    sys.modules["fangkong_replica_job"] = jobs_module
    try:
        with replica.reads_on_replica():
            jobs.run("fangkong_replica_job.job", {})
            assert router.db_for_read(Person) == "replica"
    finally:
        del sys.modules["fangkong_replica_job"]
    assert seen["alias"] == DEFAULT_DB_ALIAS
