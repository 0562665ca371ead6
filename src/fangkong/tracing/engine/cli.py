"""`fangkong colocate cell|venue|transport`: spatiotemporal companions of index persons, to a CSV.

The command touches no models, so `fangkong colocate` runs it without starting Django (0.2 s of a
5 s run at city scale); the management command of the same name wraps it for call_command.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from . import ENGINES, io, rules, run_raw

DESCRIPTION = "Find exposure candidates of index persons in telecom, venue-code or manifest data."


class ColocateError(Exception):
    """A bad input or option, told to the user in one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    rules_ = parser.add_subparsers(dest="rule", required=True, metavar="{cell,venue,transport}")

    cell = rules_.add_parser("cell", help="same telecom cell for at least N minutes")
    cell.add_argument("--presence", required=True, help="person_id,cell_id,start,end (Parquet/CSV)")
    cell.add_argument("--min-overlap-minutes", type=float, default=10)
    cell.add_argument(
        "--min-cumulative-hours",
        type=float,
        default=None,
        help="also require the contact's time in that cell over the 14 days before window_end",
    )

    venue = rules_.add_parser("venue", help="same venue code scanned at most M minutes apart")
    venue.add_argument("--scans", required=True, help="person_id,venue_id,scanned_at (Parquet/CSV)")
    venue.add_argument("--max-gap-minutes", type=float, default=30)

    transport = rules_.add_parser("transport", help="same trip and carriage, at most R rows apart")
    transport.add_argument(
        "--manifests", required=True, help="person_id,trip_id,date,carriage,seat_row (Parquet/CSV)"
    )
    transport.add_argument("--max-row-distance", type=int, default=3)

    for sub in (cell, venue, transport):
        sub.add_argument("--index", required=True, help="CSV person_id,window_start,window_end")
        sub.add_argument("--out", required=True, help="the output CSV")
        sub.add_argument("--engine", choices=ENGINES, default="duckdb")


def execute(options: dict, write: Callable[[str], object] | None = None) -> None:
    """Run the rule the options name and write the CSV; `write` receives the one-line summary."""
    began = time.perf_counter()
    rule = options["rule"]
    if options["engine"] == "spark":
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:
            raise ColocateError(
                "the spark engine needs PySpark: pip install -e '.[spark]'"
            ) from exc
    owns_spark = options["engine"] == "spark" and _spark_session() is None
    try:
        if rule == "cell":
            query = rules.cell(
                min_overlap_minutes=options["min_overlap_minutes"],
                min_cumulative_hours=options["min_cumulative_hours"],
            )
            data = options["presence"]
        elif rule == "venue":
            query, data = rules.venue(max_gap_minutes=options["max_gap_minutes"]), options["scans"]
        else:
            query = rules.transport(max_row_distance=options["max_row_distance"])
            data = options["manifests"]
        result = run_raw(query, data, options["index"], engine=options["engine"])
    except (ValueError, FileNotFoundError) as exc:
        raise ColocateError(str(exc)) from exc
    finally:
        # A session someone else started (the test suite, a notebook) outlives the command.
        if owns_spark and (spark := _spark_session()) is not None:
            spark.stop()
    io.write_raw_csv(result, options["out"])
    if write is not None:
        import pyarrow.compute as pc

        persons = pc.count_distinct(result["index_person_id"]).as_py()
        write(
            f"{result.num_rows} contacts of {persons} index persons written to "
            f"{options['out']} in {time.perf_counter() - began:.1f} s"
        )


def _spark_session():
    if "pyspark" not in sys.modules:
        return None
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fangkong colocate", description=DESCRIPTION)
    parser.add_argument("-v", "--verbosity", type=int, choices=[0, 1, 2, 3], default=1)
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    try:
        execute(options, print if options["verbosity"] >= 1 else None)
    except ColocateError as exc:
        print(f"CommandError: {exc}", file=sys.stderr)
        return 1
    return 0
