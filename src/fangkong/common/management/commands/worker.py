"""`fangkong worker`: runs background jobs from Redis (imports and other long tasks)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fangkong.common.jobs import work


class Command(BaseCommand):
    help = "Run background jobs queued in Redis (FANGKONG_REDIS_URL)."

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")

    def handle(self, *args, burst=False, **options):
        if not settings.REDIS_URL:
            raise CommandError(
                "FANGKONG_REDIS_URL is not set: jobs run in-process, no worker needed"
            )
        done = work(burst=burst)
        self.stdout.write(f"{done} jobs done")
