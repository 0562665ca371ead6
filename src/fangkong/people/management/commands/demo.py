"""`fangkong demo`: migrate, load a synthetic city once, create the demo logins, and serve, on
the demo clock (common.democlock: the story's day is "today" however long the demo runs)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from fangkong.accounts.demo import DEMO_PASSWORD, logins_table
from fangkong.common import democlock
from fangkong.people.demo import DEFAULT_POPULATION, DEFAULT_SEED, demo_prepare


class Command(BaseCommand):
    help = (
        "Prepare the demo (migrate; a synthetic city if the registry is empty; one login per "
        "role) and serve it with Django's development server."
    )

    def add_arguments(self, parser):
        parser.add_argument("--population", type=int, default=DEFAULT_POPULATION)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not serve")
        parser.add_argument("--addrport", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        # Serving runs on the demo clock; preparing only (--no-serve: tests, CI, a server
        # started otherwise) stays on the real clock, so its story ends at the real "now".
        installed_here = not options["no_serve"] and not democlock.installed()
        if installed_here:
            story_at = democlock.install()
            self.stdout.write(
                f"Demo clock: the story's day is {story_at.astimezone(democlock.LOCAL):%Y-%m-%d}, "
                f"resumed at {story_at.astimezone(democlock.LOCAL):%H:%M} (Asia/Shanghai)."
            )
        users = demo_prepare(
            stdout=self.stdout,
            population=options["population"],
            seed=options["seed"],
            migrate=False,
        )
        self.stdout.write("")
        self.stdout.write(logins_table(users))
        self.stdout.write(f"\nEvery demo account's password: {DEMO_PASSWORD}")
        if options["no_serve"]:
            return
        self.stdout.write(f"Serving on http://{options['addrport']}/  (Ctrl+C stops)\n")
        # insecure_serving: static files are served even where DEBUG is off.
        call_command("runserver", options["addrport"], use_reloader=False, insecure_serving=True)
