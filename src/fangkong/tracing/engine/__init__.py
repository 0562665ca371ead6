"""The co-location engine: spatiotemporal companions from telecom, venue-code and manifest data."""

from __future__ import annotations

import os

import pyarrow as pa

from . import io, rules

ENGINES = ("duckdb", "spark")

Input = str | os.PathLike | pa.Table


def run(query: rules.Query, data: Input, index: Input, *, engine: str = "duckdb") -> pa.Table:
    """Run a rendered rule on the chosen engine and return the published result columns."""
    return io.finish(run_raw(query, data, index, engine=engine))


def run_raw(query: rules.Query, data: Input, index: Input, *, engine: str = "duckdb") -> pa.Table:
    """The engine's own result (rules.RESULT_COLUMNS, IDs as the input types them), sorted."""
    source = io.resolve(data)
    windows = io.read_index(index)
    if engine == "duckdb":
        from . import duckdb_engine

        return duckdb_engine.run(query, source, windows)
    if engine == "spark":
        from . import spark_engine

        return spark_engine.run(query, source, windows)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


def colocate_cell(
    presence: Input,
    index: Input,
    *,
    min_overlap_minutes: float = 10,
    min_cumulative_hours: float | None = None,
    engine: str = "duckdb",
) -> pa.Table:
    """Telecom companions: `presence` has `person_id, cell_id, start, end`; see rules.cell."""
    query = rules.cell(
        min_overlap_minutes=min_overlap_minutes, min_cumulative_hours=min_cumulative_hours
    )
    return run(query, presence, index, engine=engine)


def colocate_venue(
    scans: Input, index: Input, *, max_gap_minutes: float = 30, engine: str = "duckdb"
) -> pa.Table:
    """Venue co-visitors: `scans` has `person_id, venue_id, scanned_at`; see rules.venue."""
    return run(rules.venue(max_gap_minutes=max_gap_minutes), scans, index, engine=engine)


def colocate_transport(
    manifests: Input, index: Input, *, max_row_distance: int = 3, engine: str = "duckdb"
) -> pa.Table:
    """Fellow passengers: `manifests` has `person_id, trip_id, date, carriage, seat_row`; see rules.transport."""
    return run(rules.transport(max_row_distance=max_row_distance), manifests, index, engine=engine)


__all__ = [
    "ENGINES",
    "colocate_cell",
    "colocate_transport",
    "colocate_venue",
    "io",
    "rules",
    "run",
    "run_raw",
]
