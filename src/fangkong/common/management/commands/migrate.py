"""`fangkong migrate`: Django's migrate, run as the database owner when one is configured.

With FANGKONG_MIGRATE_DATABASE_URL set (docs/architecture.md, "Database roles") the migrations
run on the owner's credentials, and afterwards the application role (FANGKONG_DATABASE_URL's
user) is granted its rows on the new tables and only INSERT and SELECT on the audit log.
"""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from fangkong.common import dbroles


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        alias = options["database"]
        app = dbroles.app_role(alias)
        owner = dbroles.owner_credentials()
        with dbroles.as_owner(alias) as as_owner:
            super().handle(*args, **options)
            connection = connections[alias]
            # Inside a transaction (the demo under the test suite) it ran as the app role: a
            # migration there would have failed, and there is nothing to grant.
            if as_owner and connection.vendor == "postgresql" and owner["USER"] != app:
                with connection.cursor() as cursor:
                    dbroles.grant_app(cursor, owner=owner["USER"], app=app)
