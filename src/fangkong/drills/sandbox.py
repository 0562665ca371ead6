"""A drill's sandbox: a database of its own, made at run time, with the live schema, a copy of
the drill area's jurisdiction tree (not its people), the participants' accounts, an isolation
site sized by the reserve rule, and a synthetic population from people.synth.

SQLite: a file under FANGKONG_DRILL_DIR (MEDIA_ROOT/drills). The schema is migrated once into a
template file per set of migrations and copied for each drill (a full migrate takes seconds).
PostgreSQL: a schema of the live database named like the alias, reached through its own
connection whose search_path is that schema; it is created and migrated with the owner's
credentials when FANGKONG_MIGRATE_DATABASE_URL is set (the app role may not create schemas),
and the app role is then granted its rows there as in public.
"""

from __future__ import annotations

import copy
import hashlib
import io
import shutil
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.utils import load_backend
from django.utils import timezone

from fangkong.common import dbroles, errors, paths

from . import routing


class SandboxError(errors.DomainError):
    code = "sandbox_unavailable"
    status = 503


def new_name() -> str:
    return f"{routing.PREFIX}{uuid.uuid4().hex[:12]}"


def _vendor() -> str:
    return connections[DEFAULT_DB_ALIAS].vendor


def folder() -> Path:
    configured = settings.FANGKONG_DRILL_DIR
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / "drills"


def _file(name: str) -> Path:
    return folder() / f"{name}.sqlite3"


def _settings_for(name: str) -> dict:
    live = connections[DEFAULT_DB_ALIAS].settings_dict
    out = copy.deepcopy({k: v for k, v in live.items() if k != "TEST"})
    out["TEST"] = {"NAME": None, "MIGRATE": True, "MIRROR": None, "CHARSET": None}
    out["TEST"]["COLLATION"] = None
    out["TEST"]["DEPENDENCIES"] = []
    if live["ENGINE"] == "django.db.backends.sqlite3":
        out["NAME"] = str(_file(name))
        out["CONN_MAX_AGE"] = 0
    else:
        options = dict(out.get("OPTIONS") or {})
        options["options"] = f"-c search_path={name}"
        out["OPTIONS"] = options
    return out


def connect(name: str) -> str:
    """Open the sandbox's alias in this thread (idempotent); returns the alias.

    The connection lives in this thread's share of ``connections`` but not in
    ``settings.DATABASES``: a process serves many drills over its life, and Django's own
    bookkeeping of the configured databases (the test runner's isolation, the checks) is about
    the live database only. The drill middleware closes it at the end of each request."""
    try:
        getattr(connections._connections, name)
    except AttributeError:
        settings_dict = _settings_for(name)
        wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, name)
        setattr(connections._connections, name, wrapper)
    return name


def close(name: str) -> None:
    try:
        getattr(connections._connections, name).close()
    except AttributeError:
        pass


def disconnect(name: str) -> None:
    try:
        wrapper = getattr(connections._connections, name)
    except AttributeError:
        return
    try:
        wrapper.close()
    finally:
        delattr(connections._connections, name)


def connected() -> list[str]:
    """The sandbox aliases open in this thread."""
    return [a for a in vars(connections._connections) if routing.is_sandbox(a)]


def exists(name: str) -> bool:
    if _vendor() == "sqlite":
        return _file(name).exists()
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def _migrations_key() -> str:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    names = sorted(f"{app}.{name}" for app, name in loader.disk_migrations)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _migrate(alias: str) -> None:
    with routing.active(alias):
        call_command("migrate", database=alias, verbosity=0, interactive=False)


def _create_sqlite(name: str) -> None:
    folder().mkdir(parents=True, exist_ok=True)
    template = folder() / f"template-{_migrations_key()}.sqlite3"
    if not template.exists():
        partial = folder() / f"{template.stem}.{uuid.uuid4().hex[:6]}.part"
        alias = connect(f"{routing.PREFIX}template_{uuid.uuid4().hex[:6]}")
        connections[alias].settings_dict["NAME"] = str(partial)
        try:
            _migrate(alias)
        finally:
            disconnect(alias)
        partial.replace(template)  # atomic: a concurrent maker's copy is as good
    shutil.copyfile(template, _file(name))


def _create_postgres(name: str) -> None:
    alias = connect(name)
    owner = dbroles.owner_credentials()
    app = dbroles.app_role(DEFAULT_DB_ALIAS)
    try:
        with dbroles.as_owner(alias):
            with connections[alias].cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA {connections[alias].ops.quote_name(name)}")
            _migrate(alias)
            if owner and owner["USER"] != app:
                with connections[alias].cursor() as cursor:
                    dbroles.grant_app(cursor, owner=owner["USER"], app=app, schema=name)
    except Exception as exc:  # the database refused: say so, never a 500
        drop(name)
        raise SandboxError(
            f"the drill's sandbox schema could not be created ({exc.__class__.__name__}); "
            "set FANGKONG_MIGRATE_DATABASE_URL to a role that may create schemas"
        ) from exc


def create(name: str) -> str:
    """A fresh, migrated, empty sandbox; returns its alias."""
    if _vendor() == "sqlite":
        _create_sqlite(name)
        return connect(name)
    if _vendor() == "postgresql":
        _create_postgres(name)
        return connect(name)
    raise SandboxError(f"drills need SQLite or PostgreSQL, not {_vendor()}")


def drop(name: str) -> None:
    """Remove the sandbox (its file or schema) and forget its alias."""
    disconnect(name)
    if _vendor() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_file(name)}{suffix}").unlink(missing_ok=True)
        return
    # On the sandbox's own alias, as create() does: the live connection may be inside a
    # transaction (a request, a test), where it cannot switch to the owner who owns the schema.
    alias = connect(name)
    try:
        with dbroles.as_owner(alias):
            connection = connections[alias]
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(name)} CASCADE")
    finally:
        disconnect(alias)


# --- seeding -----------------------------------------------------------------------------------


def _copy_rows(model, rows: list, alias: str) -> int:
    """Live model instances written into the sandbox with the same keys."""
    for row in rows:
        row._state.adding = True
        row._state.db = None
    model.objects.using(alias).bulk_create(rows, batch_size=500)
    return len(rows)


def _insert(alias: str, model, table: pa.Table) -> None:
    """people.synth's loader, on the sandbox's connection (COPY or executemany)."""
    connection = connections[alias]
    name = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in table.column_names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.BytesIO()
            pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
            with cursor.copy(f"COPY {name} ({columns}) FROM STDIN (FORMAT csv)") as out:
                out.write(buffer.getbuffer())
        else:
            rows = list(zip(*(column.to_pylist() for column in table.columns), strict=True))
            marks = ", ".join(["%s"] * len(table.column_names))
            cursor.executemany(f"INSERT INTO {name} ({columns}) VALUES ({marks})", rows)


def _sync_sequences(alias: str, models) -> None:
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return
    statements = connection.ops.sequence_reset_sql(_NoStyle(), models)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


class _NoStyle:
    def __getattr__(self, name):
        return lambda text: text


def seed(*, alias: str, node, users, population: int, seed_value: int) -> dict:
    """Fill the sandbox: the tree around ``node``, ``users``' accounts, the population."""
    from django.contrib.auth import get_user_model

    from fangkong.geo.models import Building, Household, Jurisdiction, Level
    from fangkong.people.models import Person
    from fangkong.people.synth import building_table, household_table, person_table, plan

    User = get_user_model()
    with routing.live():
        ancestors = paths.ancestors(node.path)[:-1]
        tree = list(
            Jurisdiction.objects.using(DEFAULT_DB_ALIAS)
            .filter(path__startswith=node.path)
            .order_by("depth", "id")
        ) + list(Jurisdiction.objects.using(DEFAULT_DB_ALIAS).filter(path__in=ancestors))
        tree.sort(key=lambda j: (j.depth, j.id))
        accounts = list(User.objects.using(DEFAULT_DB_ALIAS).filter(pk__in=[u.pk for u in users]))
    grids = [j for j in tree if j.level == Level.GRID and j.path.startswith(node.path)]
    if not grids:
        raise errors.Invalid("the drill's area has no grid to house a population", code="no_grids")
    city = plan(population, seed_value, timezone.localdate())
    n_grids = len(city.grid_nodes)
    grid_ids = np.array([grids[i % len(grids)].pk for i in range(n_grids)], dtype=np.int64)
    grid_paths = pa.array([grids[i % len(grids)].path for i in range(n_grids)], pa.string())
    connection = connections[alias]
    stamp = timezone.now()
    stamp = (
        stamp.isoformat()
        if connection.vendor == "postgresql"
        else (connection.ops.adapt_datetimefield_value(stamp))
    )
    with routing.active(alias), transaction.atomic(using=alias):
        _copy_rows(Jurisdiction, tree, alias)
        _copy_rows(User, accounts, alias)
        buildings = building_table(city, 1, grid_ids)
        _insert(alias, Building, buildings)
        households = household_table(city, 1, 1, grid_ids)
        _insert(alias, Household, households)
        address = households.column("address").combine_chunks()
        people = person_table(
            city, slice(0, len(city.person_household)), 1, 1, grid_ids, grid_paths, address, stamp
        )
        _insert(alias, Person, people)
        _sync_sequences(alias, [Jurisdiction, User, Building, Household, Person])
    return {
        "jurisdictions": len(tree),
        "accounts": len(accounts),
        "buildings": len(buildings),
        "households": len(households),
        "people": len(people),
    }


def add_accounts(*, alias: str, users) -> None:
    """Copy accounts added after the sandbox was made (new participants); existing ones stay."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    with routing.active(alias):
        present = set(
            User.objects.filter(pk__in=[u.pk for u in users]).values_list("pk", flat=True)
        )
    with routing.live():
        missing = list(User.objects.filter(pk__in=[u.pk for u in users if u.pk not in present]))
    if missing:
        with routing.active(alias):
            _copy_rows(User, missing, alias)
            _sync_sequences(alias, [User])
