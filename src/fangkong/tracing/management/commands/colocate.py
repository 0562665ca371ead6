"""`fangkong colocate cell|venue|transport`: spatiotemporal companions of index persons, to a CSV."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from fangkong.tracing.engine import ENGINES, io, rules, run


class Command(BaseCommand):
    help = "Find exposure candidates of index persons in telecom, venue-code or manifest data."
    # The command touches no models; skipping the system checks keeps start-up well under a second.
    requires_system_checks = []

    def add_arguments(self, parser):
        rules_ = parser.add_subparsers(dest="rule", required=True, metavar="{cell,venue,transport}")

        cell = rules_.add_parser("cell", help="same telecom cell for at least N minutes")
        cell.add_argument(
            "--presence", required=True, help="person_id,cell_id,start,end (Parquet/CSV)"
        )
        cell.add_argument("--min-overlap-minutes", type=float, default=10)
        cell.add_argument(
            "--min-cumulative-hours",
            type=float,
            default=None,
            help="also require the contact's time in that cell over the 14 days before window_end",
        )

        venue = rules_.add_parser("venue", help="same venue code scanned at most M minutes apart")
        venue.add_argument(
            "--scans", required=True, help="person_id,venue_id,scanned_at (Parquet/CSV)"
        )
        venue.add_argument("--max-gap-minutes", type=float, default=30)

        transport = rules_.add_parser(
            "transport", help="same trip and carriage, at most R rows apart"
        )
        transport.add_argument(
            "--manifests",
            required=True,
            help="person_id,trip_id,date,carriage,seat_row (Parquet/CSV)",
        )
        transport.add_argument("--max-row-distance", type=int, default=3)

        for sub in (cell, venue, transport):
            sub.add_argument("--index", required=True, help="CSV person_id,window_start,window_end")
            sub.add_argument("--out", required=True, help="the output CSV")
            sub.add_argument("--engine", choices=ENGINES, default="duckdb")

    def handle(self, *args, **options):
        began = time.perf_counter()
        rule = options["rule"]
        if options["engine"] == "spark":
            try:
                import pyspark  # noqa: F401
            except ImportError as exc:
                raise CommandError(
                    "the spark engine needs PySpark: pip install -e '.[spark]'"
                ) from exc
        owns_spark = options["engine"] == "spark" and self._spark_session() is None
        try:
            if rule == "cell":
                query = rules.cell(
                    min_overlap_minutes=options["min_overlap_minutes"],
                    min_cumulative_hours=options["min_cumulative_hours"],
                )
                data = options["presence"]
            elif rule == "venue":
                query, data = (
                    rules.venue(max_gap_minutes=options["max_gap_minutes"]),
                    options["scans"],
                )
            else:
                query = rules.transport(max_row_distance=options["max_row_distance"])
                data = options["manifests"]
            result = run(query, data, options["index"], engine=options["engine"])
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            # A session someone else started (the test suite, a notebook) outlives the command.
            if owns_spark and (spark := self._spark_session()) is not None:
                spark.stop()
        io.write_csv(result, options["out"])
        if options["verbosity"] >= 1:
            seconds = time.perf_counter() - began
            persons = len(set(result["index_person_id"].to_pylist()))
            self.stdout.write(
                f"{result.num_rows} contacts of {persons} index persons written to "
                f"{options['out']} in {seconds:.1f} s"
            )

    @staticmethod
    def _spark_session():
        from pyspark.sql import SparkSession

        return SparkSession.getActiveSession()
