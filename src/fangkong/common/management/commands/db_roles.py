"""`fangkong db-roles --owner fangkong_owner --app fangkong_app`: the deployment's two roles.

Creates (idempotently) an owner role that owns the schema and every table, and an application
role that owns nothing: rows of every table, only INSERT and SELECT on the audit log, default
privileges so that tables the owner's later migrations create are granted the same. Run it once
as a superuser (FANGKONG_DATABASE_URL or --admin-url naming one), then connect the application
as the app role and migrate as the owner (docs/architecture.md, "Database roles").
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from fangkong.common import dbroles


class Command(BaseCommand):
    help = "Create the owner and application roles of a PostgreSQL deployment (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--owner", default="fangkong_owner", help="role that owns the schema")
        parser.add_argument("--app", default="fangkong_app", help="role the application uses")
        parser.add_argument(
            "--admin-url",
            default="",
            help="a superuser's postgres:// URL (default: FANGKONG_DATABASE_URL's connection)",
        )
        parser.add_argument("--schema", default="public")

    def handle(self, *args, owner, app, admin_url, schema, **options):
        if owner == app:
            raise CommandError("The owner and the application role must differ.")
        if admin_url:
            import psycopg

            with psycopg.connect(admin_url, autocommit=False) as conn, conn.cursor() as cursor:
                done = dbroles.roles_create(cursor, owner=owner, app=app, schema=schema)
        else:
            if connection.vendor != "postgresql":
                raise CommandError("Database roles are a PostgreSQL deployment's.")
            from django.db import transaction

            with transaction.atomic(), connection.cursor() as cursor:
                done = dbroles.roles_create(cursor, owner=owner, app=app, schema=schema)
        for line in done:
            self.stdout.write(line)
