"""`fangkong synth --population N --seed S [--reset]`: load a deterministic synthetic city."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from fangkong.common.dbroles import as_owner
from fangkong.people.synth import SynthError, synth_city

LEVEL_LABELS = [
    ("province", "省"),
    ("city", "市"),
    ("district", "区县"),
    ("street", "街道/镇"),
    ("community", "社区/村"),
    ("grid", "网格"),
]


class Command(BaseCommand):
    help = (
        "Build a synthetic Nanjing: districts, streets, communities, grids of 300-500 households, "
        "buildings, households and residents with valid ID numbers. The same seed (and --as-of "
        "date) gives the same city."
    )

    def add_arguments(self, parser):
        parser.add_argument("--population", type=int, default=200_000)
        parser.add_argument("--seed", type=int, default=2022)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete the people, households, buildings and tree first",
        )
        parser.add_argument(
            "--as-of",
            type=dt.date.fromisoformat,
            default=None,
            help="the date ages are counted to (YYYY-MM-DD; default today)",
        )

    def handle(self, *args, **options):
        verbose = options["verbosity"] > 1
        # A bulk load is an operator's: as the owner (when configured) it may truncate and set
        # indexes aside, which the application role may not.
        try:
            with as_owner():
                summary = synth_city(
                    population=options["population"],
                    seed=options["seed"],
                    reset=options["reset"],
                    as_of=options["as_of"],
                    log=(lambda m: self.stdout.write(f"  {m}")) if verbose else None,
                )
        except (SynthError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        print_summary(self.stdout, summary)


def print_summary(stdout, summary: dict) -> None:
    levels = ", ".join(f"{label} {summary[level]:,}" for level, label in LEVEL_LABELS)
    stdout.write(f"Synthetic city: {levels}")
    stdout.write(
        f"  楼栋 buildings {summary['buildings']:,}, 户 households {summary['households']:,}, "
        f"人 persons {summary['persons']:,} in {summary['seconds']} s"
    )
