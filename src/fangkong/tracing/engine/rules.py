"""The co-location rules, each written once as SQL that both DuckDB and Spark SQL run."""

from __future__ import annotations

from dataclasses import dataclass

# The SQL below keeps to the dialect both engines share: integer arithmetic, GREATEST/LEAST,
# joins, GROUP BY/HAVING and CAST(... AS BIGINT). Time never appears as a TIMESTAMP here: each
# engine's loader turns a naive timestamp column `c` into `c_us` (microseconds since
# 1970-01-01 00:00:00 wall clock) and a date column `c` into `c_day` (days since 1970-01-01),
# because timestamp arithmetic is where the two dialects (and their time-zone handling) differ.
# Optimizer hints are written as comments: Spark honours them, DuckDB ignores them.

US_PER_MINUTE = 60_000_000
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR

# Column kinds the loaders understand.
ID = "id"  # a person's ID: compared as is; text in CSV, text or integer in Parquet
KEY = "key"  # a place or trip key: compared as is
INT = "int"  # an integer (seat row)
TIMESTAMP = "timestamp"  # naive local time -> <name>_us
DATE = "date"  # calendar day -> <name>_day

INPUTS: dict[str, dict[str, str]] = {
    "presence": {"person_id": ID, "cell_id": KEY, "start": TIMESTAMP, "end": TIMESTAMP},
    "scans": {"person_id": ID, "venue_id": KEY, "scanned_at": TIMESTAMP},
    "manifests": {"person_id": ID, "trip_id": KEY, "date": DATE, "carriage": KEY, "seat_row": INT},
}

# Every rule returns these columns, IDs as text, sorted by the two IDs; io.finish turns the
# integers into the published minutes and timestamps.
RESULT_COLUMNS = (
    "index_person_id",
    "contact_person_id",
    "episodes",
    "overlap_us",
    "first_contact_us",
)


@dataclass(frozen=True)
class Query:
    """One rendered rule: which input view it reads and the SQL text to run over it."""

    rule: str
    source: str
    sql: str


def _published(sql: str) -> str:
    """IDs as text and rows in the published order, done by the engine: both sort text by bytes."""
    return f"""SELECT CAST(index_person_id AS STRING) AS index_person_id,
       CAST(contact_person_id AS STRING) AS contact_person_id,
       episodes, overlap_us, first_contact_us
FROM ({sql}) r
ORDER BY 1, 2"""


def _us(minutes: float, what: str) -> int:
    if minutes < 0:
        raise ValueError(f"{what} must not be negative")
    return round(minutes * US_PER_MINUTE)


_CELL = """
WITH index_stays AS (
  SELECT /*+ BROADCAST(i) */
         i.person_id AS index_person_id, p.cell_id, i.window_end_us,
         GREATEST(p.start_us, i.window_start_us) AS start_us,
         LEAST(p.end_us, i.window_end_us) AS end_us
  FROM presence p
  JOIN index_windows i ON p.person_id = i.person_id
  WHERE LEAST(p.end_us, i.window_end_us) - GREATEST(p.start_us, i.window_start_us) >= {min_us}
),
episodes AS (
  SELECT /*+ BROADCAST(x) */
         x.index_person_id, o.person_id AS contact_person_id, x.cell_id, x.window_end_us,
         GREATEST(x.start_us, o.start_us) AS contact_start_us,
         LEAST(x.end_us, o.end_us) - GREATEST(x.start_us, o.start_us) AS overlap_us
  FROM index_stays x
  JOIN presence o
    ON o.cell_id = x.cell_id
   AND o.start_us <= x.end_us - {min_us}
   AND o.end_us >= x.start_us + {min_us}
  WHERE o.person_id <> x.index_person_id
    AND LEAST(x.end_us, o.end_us) - GREATEST(x.start_us, o.start_us) >= {min_us}
){cumulative}
SELECT index_person_id, contact_person_id,
       COUNT(*) AS episodes,
       CAST(SUM(overlap_us) AS BIGINT) AS overlap_us,
       MIN(contact_start_us) AS first_contact_us
FROM {episodes}
GROUP BY index_person_id, contact_person_id
"""

# The contact's own time in the cell over the look-back before window_end (one city's
# "30 hours in that cell over 14 days"); only cells that already hold an episode are measured.
_CUMULATIVE = """,
regulars AS (
  SELECT /*+ BROADCAST(c) */ c.index_person_id, c.contact_person_id, c.cell_id
  FROM (SELECT DISTINCT index_person_id, contact_person_id, cell_id, window_end_us
        FROM episodes) c
  JOIN presence p
    ON p.person_id = c.contact_person_id
   AND p.cell_id = c.cell_id
   AND p.start_us < c.window_end_us
   AND p.end_us > c.window_end_us - {lookback_us}
  GROUP BY c.index_person_id, c.contact_person_id, c.cell_id
  HAVING SUM(LEAST(p.end_us, c.window_end_us)
             - GREATEST(p.start_us, c.window_end_us - {lookback_us})) >= {min_cumulative_us}
),
kept AS (
  SELECT /*+ BROADCAST(r) */ e.*
  FROM episodes e
  JOIN regulars r
    ON r.index_person_id = e.index_person_id
   AND r.contact_person_id = e.contact_person_id
   AND r.cell_id = e.cell_id
)"""


def cell(
    *,
    min_overlap_minutes: float = 10,
    min_cumulative_hours: float | None = None,
    lookback_days: int = 14,
) -> Query:
    """Telecom presence: stays in the same cell overlapping at least the minimum inside the window."""
    min_us = _us(min_overlap_minutes, "min_overlap_minutes")
    cumulative, episodes = "", "episodes"
    if min_cumulative_hours is not None:
        cumulative = _CUMULATIVE.format(
            lookback_us=lookback_days * US_PER_DAY,
            min_cumulative_us=_us(min_cumulative_hours * 60, "min_cumulative_hours"),
        )
        episodes = "kept"
    sql = _CELL.format(min_us=min_us, cumulative=cumulative, episodes=episodes)
    return Query("cell", "presence", _published(sql))


_VENUE = """
WITH index_scans AS (
  SELECT /*+ BROADCAST(i) */ i.person_id AS index_person_id, s.venue_id, s.scanned_at_us
  FROM scans s
  JOIN index_windows i ON s.person_id = i.person_id
  WHERE s.scanned_at_us >= i.window_start_us AND s.scanned_at_us <= i.window_end_us
)
SELECT /*+ BROADCAST(x) */
       x.index_person_id, o.person_id AS contact_person_id,
       COUNT(*) AS episodes,
       CAST(NULL AS BIGINT) AS overlap_us,
       MIN(o.scanned_at_us) AS first_contact_us
FROM index_scans x
JOIN scans o
  ON o.venue_id = x.venue_id
 AND o.scanned_at_us >= x.scanned_at_us - {gap_us}
 AND o.scanned_at_us <= x.scanned_at_us + {gap_us}
WHERE o.person_id <> x.index_person_id
GROUP BY x.index_person_id, o.person_id
"""


def venue(*, max_gap_minutes: float = 30) -> Query:
    """Venue-code scans: the same venue at most the gap apart, the index person's scan in the window."""
    sql = _VENUE.format(gap_us=_us(max_gap_minutes, "max_gap_minutes"))
    return Query("venue", "scans", _published(sql))


_TRANSPORT = """
WITH index_seats AS (
  SELECT /*+ BROADCAST(i) */
         i.person_id AS index_person_id, m.trip_id, m.date_day, m.carriage, m.seat_row
  FROM manifests m
  JOIN index_windows i ON m.person_id = i.person_id
  WHERE m.date_day >= i.window_start_day AND m.date_day <= i.window_end_day
)
SELECT /*+ BROADCAST(x) */
       x.index_person_id, o.person_id AS contact_person_id,
       COUNT(*) AS episodes,
       CAST(NULL AS BIGINT) AS overlap_us,
       MIN(o.date_day) * {us_per_day} AS first_contact_us
FROM index_seats x
JOIN manifests o
  ON o.trip_id = x.trip_id
 AND o.date_day = x.date_day
 AND o.carriage = x.carriage
 AND o.seat_row >= x.seat_row - {rows}
 AND o.seat_row <= x.seat_row + {rows}
WHERE o.person_id <> x.index_person_id
GROUP BY x.index_person_id, o.person_id
"""


def transport(*, max_row_distance: int = 3) -> Query:
    """Transport manifests: same trip and day, same carriage, at most the row distance apart."""
    if max_row_distance < 0 or int(max_row_distance) != max_row_distance:
        raise ValueError("max_row_distance must be a non-negative integer")
    sql = _TRANSPORT.format(rows=int(max_row_distance), us_per_day=US_PER_DAY)
    return Query("transport", "manifests", _published(sql))
