"""The two PostgreSQL roles of a deployment: an owner that migrates, and an application role that
owns nothing and may only append to the audit log (docs/architecture.md, "Database roles").

The application connects with FANGKONG_DATABASE_URL as the app role. Only a table's owner (or a
superuser) can ALTER TABLE … DISABLE TRIGGER, DROP TRIGGER, TRUNCATE without the privilege, or
set session_replication_role; so the append-only trigger on the audit table holds against the
application's own credentials. Migrations run as the owner (FANGKONG_MIGRATE_DATABASE_URL).
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.db import connections

# Tables the application may add to but never change: INSERT and SELECT only.
APPEND_ONLY_TABLES = ("audit_auditentry",)
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


def owner_credentials() -> dict | None:
    """The owner's USER/PASSWORD/HOST/PORT from FANGKONG_MIGRATE_DATABASE_URL, or None."""
    if not settings.MIGRATE_DATABASE_URL:
        return None
    import dj_database_url

    parsed = dj_database_url.parse(settings.MIGRATE_DATABASE_URL)
    return {key: parsed.get(key, "") for key in _CREDENTIALS}


@contextmanager
def as_owner(alias: str = "default"):
    """Run the block on a connection made with the owner's credentials (same database name, so
    the test suite's database too). Outside PostgreSQL, without an owner URL, or inside a
    transaction (which one connection cannot leave) the block runs on the current connection.
    Yields whether the block runs as the owner."""
    connection = connections[alias]
    owner = owner_credentials()
    if owner is None or connection.vendor != "postgresql" or connection.in_atomic_block:
        yield owner is not None and owner["USER"] == connection.settings_dict.get("USER")
        return
    saved = {key: connection.settings_dict.get(key, "") for key in _CREDENTIALS}
    connection.close()
    connection.settings_dict.update(owner)
    try:
        yield True
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def app_role(alias: str = "default") -> str:
    return connections[alias].settings_dict["USER"]


def _q(cursor, name: str) -> str:
    from psycopg import sql

    return sql.Identifier(name).as_string(cursor.connection)


def grant_app(cursor, *, owner: str, app: str, schema: str = "public") -> None:
    """The app role's privileges on what the owner has (and, by default privileges, will have):
    rows of every table, the sequences, no DDL; the append-only tables INSERT and SELECT only.
    Run as the owner (after each migration) or a superuser; idempotent."""
    o, a, s = _q(cursor, owner), _q(cursor, app), _q(cursor, schema)
    for statement in (
        f"GRANT USAGE ON SCHEMA {s} TO {a}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {a}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA {s} FROM {a}",
        # setval/nextval: the bulk writers reserve id ranges.
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {s} "
        f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {a}",
    ):
        cursor.execute(statement)
    for table in APPEND_ONLY_TABLES:
        cursor.execute("SELECT to_regclass(%s)", [f"{schema}.{table}"])
        if cursor.fetchone()[0] is not None:
            t = f"{s}.{_q(cursor, table)}"
            cursor.execute(f"REVOKE ALL ON {t} FROM {a}")
            cursor.execute(f"GRANT SELECT, INSERT ON {t} TO {a}")


def roles_create(cursor, *, owner: str, app: str, schema: str = "public") -> list[str]:
    """Create the two roles if missing, give the owner the schema and everything in it, and grant
    the app role its share. Needs a superuser (or CREATEROLE and the database's owner).
    Returns what it changed, for the operator."""
    done = []
    o, a, s = _q(cursor, owner), _q(cursor, app), _q(cursor, schema)
    for role in (owner, app):
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {_q(cursor, role)} LOGIN")
            done.append(f"created role {role}")
    # Whatever the role was given before, it is an ordinary login now.
    cursor.execute(
        f"ALTER ROLE {a} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
    )
    cursor.execute("SELECT current_database()")
    database = _q(cursor, cursor.fetchone()[0])
    cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {a}")
    cursor.execute(f"ALTER SCHEMA {s} OWNER TO {o}")
    cursor.execute(f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC")
    cursor.execute(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "AND pg_get_userbyid(c.relowner) <> %s "
        # a sequence owned by a table's column moves with its table
        "AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid "
        "AND d.deptype IN ('a', 'i') AND d.classid = 'pg_class'::regclass))",
        [schema, owner],
    )
    kinds = {"v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}
    moved = 0
    for name, kind in cursor.fetchall():
        cursor.execute(f"ALTER {kinds.get(kind, 'TABLE')} {s}.{_q(cursor, name)} OWNER TO {o}")
        moved += 1
    cursor.execute(
        "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = "
        "p.pronamespace WHERE n.nspname = %s AND pg_get_userbyid(p.proowner) <> %s",
        [schema, owner],
    )
    for (signature,) in cursor.fetchall():
        cursor.execute(f"ALTER FUNCTION {signature} OWNER TO {o}")
        moved += 1
    if moved:
        done.append(f"{moved} objects now owned by {owner}")
    grant_app(cursor, owner=owner, app=app, schema=schema)
    done.append(f"{app}: rows of every table, {', '.join(APPEND_ONLY_TABLES)} INSERT and SELECT")
    return done


def owns(*tables: str) -> bool:
    """Whether the current connection may change these tables' definitions (it owns them, is a
    member of their owner, or is a superuser). The app role of a deployment owns none: the
    bulk paths that set indexes aside or truncate then take the slower plain path."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(bool_and(pg_has_role(relowner, 'USAGE')), true) FROM pg_class "
            "WHERE oid = ANY(%s::regclass[])",
            [list(tables)],
        )
        return cursor.fetchone()[0]
