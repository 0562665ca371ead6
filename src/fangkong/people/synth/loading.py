"""Loading: COPY on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import datetime as dt
import io
import time
from contextlib import contextmanager
from contextvars import ContextVar

import pyarrow as pa
import pyarrow.csv as pacsv
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from fangkong.audit.services import audit_record
from fangkong.common.dbroles import owns
from fangkong.geo.models import Building, Household, Jurisdiction
from fangkong.people.models import Person

from .planning import City, plan
from .rows import building_table, household_table, node_table, person_table

PERSON_CHUNK = 250_000
MODELS = [Person, Household, Building, Jurisdiction]  # children first, for deleting


class SynthError(ValueError):
    pass


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model, n: int) -> int:
    """The first of n consecutive fresh ids, so that rows can reference each other before
    insertion and the sequence never hands those ids out again."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT setval(%s, nextval(%s) + %s - 1)", [sequence, sequence, max(n, 1)]
            )
            return cursor.fetchone()[0] - max(n, 1) + 1
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")
        return max(row[0] if row else 0, cursor.fetchone()[0] or 0) + 1


def insert(model, table: pa.Table) -> None:
    name = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in table.column_names)
    with connection.cursor() as cursor:
        if _postgres():
            buffer = io.BytesIO()
            pacsv.write_csv(
                table, buffer, pacsv.WriteOptions(include_header=False, batch_size=65_536)
            )
            # FREEZE: the table was truncated in this transaction (see registry_replaced); not
            # when the app role, which may not truncate, deleted the rows instead.
            freeze = ", FREEZE" if _TRUNCATED.get() else ""
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv{freeze})") as copy:
                copy.write(buffer.getbuffer())
        else:
            rows = list(zip(*(column.to_pylist() for column in table.columns), strict=True))
            marks = ", ".join(["%s"] * len(table.column_names))
            cursor.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)


def registry_is_empty() -> bool:
    return not any(model.objects.exists() for model in MODELS)


def detach_users() -> int:
    """Users keep their accounts but lose their node (the demo binds them again)."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(jurisdiction__isnull=False).update(jurisdiction=None)


# Whether registry_replaced truncated the tables in this transaction (COPY may then FREEZE).
_TRUNCATED: ContextVar[bool] = ContextVar("synth_truncated", default=False)


@contextmanager
def registry_replaced():
    """Empty the registry tables, let the caller fill them, and leave them consistent.

    On PostgreSQL the tables are truncated, and their secondary indexes and the foreign keys on
    or pointing at them are set aside meanwhile, all inside the caller's transaction. Deleting
    a million rows queues a referential check per row and referring table, and loading them
    with the keys in place queues as many again (half a minute each for a million people),
    while rebuilding an index from a sort and validating a key with one join takes seconds.
    Truncation also lets COPY write the rows frozen and visible, so no VACUUM rewrites them.
    The schema is the same afterwards; rows elsewhere that still point at the old registry
    make the re-validation fail, which rolls everything back.
    """
    quote = connection.ops.quote_name
    tables = [m._meta.db_table for m in MODELS]
    with connection.cursor() as cursor:
        # The application role of a deployment owns no table: it deletes instead of truncating.
        if not _postgres() or not owns(*tables):
            for table in tables:
                cursor.execute(f"DELETE FROM {quote(table)}")
            yield
            return
        # Tables with queued deferred checks cannot be altered: run those checks now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE (contype = 'f' AND (conrelid = ANY(%s::regclass[]) "
            "OR confrelid = ANY(%s::regclass[]))) "
            "OR (contype = 'u' AND conrelid = ANY(%s::regclass[])) "
            "ORDER BY contype DESC, 1, 2",
            [tables, tables, tables],
        )
        constraints = cursor.fetchall()  # unique ones first, then the foreign keys
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
            "WHERE indrelid = ANY(%s::regclass[]) AND NOT indisprimary AND indexrelid NOT IN "
            "(SELECT conindid FROM pg_constraint WHERE conindid <> 0) ORDER BY 1",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in reversed(constraints):
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute(f"TRUNCATE {', '.join(quote(t) for t in tables)}")
        token = _TRUNCATED.set(True)
        try:
            yield
        finally:
            _TRUNCATED.reset(token)
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in constraints:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")


def load(city: City, log=None) -> None:
    log = log or (lambda message: None)
    first_node = reserve_ids(Jurisdiction, len(city.nodes))
    first_building = reserve_ids(Building, len(city.building_grid))
    first_household = reserve_ids(Household, len(city.household_size))
    first_person = reserve_ids(Person, len(city.person_household))
    grid_first_id = first_node + city.grid_nodes

    insert(Jurisdiction, node_table(city, first_node))
    insert(Building, building_table(city, first_building, grid_first_id))
    households = household_table(city, first_household, first_building, grid_first_id)
    insert(Household, households)
    log(f"tree, {len(city.building_grid):,} buildings, {len(households):,} households written")

    now = timezone.now()
    stamp = now.isoformat() if _postgres() else connection.ops.adapt_datetimefield_value(now)
    grid_paths = pa.array([city.nodes[i].path for i in city.grid_nodes], pa.string())
    address = households.column("address").combine_chunks()
    n = len(city.person_household)
    for start in range(0, n, PERSON_CHUNK):
        rows = slice(start, min(start + PERSON_CHUNK, n))
        table = person_table(
            city, rows, first_person, first_household, grid_first_id, grid_paths, address, stamp
        )
        insert(Person, table)
        log(f"{rows.stop:,} / {n:,} people written")


def synth_city(
    *, population: int, seed: int, reset: bool = False, as_of: dt.date | None = None, log=None
) -> dict:
    """Build and store the synthetic city; returns the counts and the seconds it took."""
    began = time.perf_counter()
    sink = log or (lambda message: None)

    def log(message: str) -> None:
        sink(f"{time.perf_counter() - began:6.1f} s  {message}")

    city = plan(population, seed, as_of)
    log("planned")
    try:
        with transaction.atomic():
            if not registry_is_empty():
                if not reset:
                    raise SynthError(
                        "the registry already holds people, households, buildings or "
                        "jurisdictions; run with --reset to delete them first"
                    )
                log(f"{detach_users()} users detached from their jurisdiction")
            if _postgres():
                with connection.cursor() as cursor:
                    # A load repeatable from its seed need not wait for each WAL flush.
                    cursor.execute("SET LOCAL synchronous_commit = off")
            with registry_replaced():
                log("registry emptied")
                load(city, log)
            log("indexes built, keys checked")
            audit_record(
                actor=None,
                action="import",
                object_type="synth",
                object_repr=f"synthetic city, seed {seed}",
                jurisdiction_path=city.nodes[0].path,
                changes={**city.counts, "seed": seed, "as_of": city.as_of.isoformat()},
            )
    except IntegrityError as exc:
        raise SynthError(
            f"other records still refer to the registry, so it cannot be replaced: {exc}"
        ) from exc
    log("committed")
    analyze()
    log("analysed")
    return {**city.counts, "seconds": round(time.perf_counter() - began, 1)}


def analyze() -> None:
    """Fresh statistics, and on PostgreSQL a visibility map so that subtree counts are
    index-only scans (a fresh COPY leaves every page not-all-visible)."""
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in reversed(MODELS))
    with connection.cursor() as cursor:
        if _postgres() and not owns(*(m._meta.db_table for m in MODELS)):
            return  # autovacuum's work then: only a table's owner may analyse it
        if _postgres():
            if connection.in_atomic_block:
                cursor.execute(f"ANALYZE {tables}")
            else:
                cursor.execute(f"VACUUM (ANALYZE) {tables}")
        else:
            cursor.execute("ANALYZE")
