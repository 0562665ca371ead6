"""`fangkong checkpoints …`: the periodic check for people lost between checkpoint and site."""

import datetime as dt

from django.core.management.base import BaseCommand
from django.utils import timezone

from fangkong.checkpoints import services


class Command(BaseCommand):
    help = "Checkpoints: alert people dispatched by closed-loop transfer and not checked in."

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        lost = verbs.add_parser(
            "transfers-lost",
            help="alert everyone dispatched longer ago than the limit and not checked in",
        )
        lost.add_argument("--now", type=dt.datetime.fromisoformat, help="ISO time (default now)")

    def handle(self, *args, verb, **options):
        now = options.get("now")
        if now is not None and timezone.is_naive(now):
            now = timezone.make_aware(now)
        count = services.transfers_lost_alert(now=now or timezone.now())
        limit = services.transfer_limit().total_seconds() / 3600
        self.stdout.write(f"{count} alerts raised (limit {limit:g} h)")
