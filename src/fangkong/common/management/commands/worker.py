"""`fangkong worker`: runs background jobs from Redis (imports and other long tasks)."""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fangkong.common import jobs


class Command(BaseCommand):
    help = (
        "Run background jobs queued in Redis (FANGKONG_REDIS_URL); keeps running while Redis "
        "restarts, stops on SIGTERM after the job in hand. --reap gives back the import jobs of "
        "dead workers once and exits."
    )

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
        parser.add_argument(
            "--reap",
            action="store_true",
            help="queue again or fail the import jobs of stopped workers, then exit",
        )

    def handle(self, *args, burst=False, reap=False, **options):
        if reap:
            # Also useful without Redis: it fails the in-process imports a killed CLI left running.
            counts = jobs.reap()
            self.stdout.write(
                "requeued {requeued}, failed {failed}, queued again {pushed}".format(**counts)
            )
            return
        if not settings.REDIS_URL:
            raise CommandError(
                "FANGKONG_REDIS_URL is not set: jobs run in-process, no worker needed"
            )
        logging.getLogger("fangkong.common.jobs").setLevel(logging.INFO)
        done = jobs.work(burst=burst)
        self.stdout.write(f"{done} jobs done")
