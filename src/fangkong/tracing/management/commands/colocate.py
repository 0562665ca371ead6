"""`fangkong colocate cell|venue|transport` for call_command; the logic is tracing.engine.cli."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fangkong.tracing.engine import cli


class Command(BaseCommand):
    help = cli.DESCRIPTION
    # The command touches no models; skipping the system checks keeps start-up well under a second.
    requires_system_checks = []

    def add_arguments(self, parser):
        cli.add_arguments(parser)

    def handle(self, *args, **options):
        try:
            cli.execute(options, self.stdout.write if options["verbosity"] >= 1 else None)
        except cli.ColocateError as exc:
            raise CommandError(str(exc)) from exc
