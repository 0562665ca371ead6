"""The co-location rules, each written once as SQL that both DuckDB and Spark SQL run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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

# Every rule returns these columns, sorted by the two IDs; io.finish turns the IDs into text and
# the integers into the published minutes and timestamps.
RESULT_COLUMNS = (
    "index_person_id",
    "contact_person_id",
    "episodes",
    "overlap_us",
    "first_contact_us",
)


@dataclass(frozen=True)
class Query:
    """One rendered rule: which input view it reads and the SQL text to run over it.

    `stages` are named statements each engine runs first, in order, keeping each result as a small
    in-memory table the later statements read (the index persons' stays, say): a result known
    exactly before the big join lets both engines pick the right side to hash or broadcast.
    `offsets` tells how many rows (k = 0, 1, ...) the engine's `offsets` table needs for index
    windows up to the given length in microseconds; None when the rule reads no such table.
    """

    rule: str
    source: str
    sql: str
    stages: tuple[tuple[str, str], ...] = ()
    offsets: Callable[[int], int] | None = field(default=None, compare=False)


def _published(sql: str) -> str:
    """Rows sorted by the two IDs, done by the engine: integers numerically, text by its bytes.

    The IDs keep the input's type here (io.finish makes them text): sorting tens of millions of
    integer pairs costs a tenth of sorting them as text carried along with the rows.
    """
    return f"""SELECT index_person_id, contact_person_id, episodes, overlap_us, first_contact_us
FROM ({sql}) r
ORDER BY index_person_id, contact_person_id"""


def _us(minutes: float, what: str) -> int:
    if minutes < 0:
        raise ValueError(f"{what} must not be negative")
    return round(minutes * US_PER_MINUTE)


# The cell rule joins every stay in the city with the index persons' stays in the same cell. On
# the cell alone, a downtown cell's probe walks a chain of hundreds of index stays across two weeks
# (at a billion rows that join alone took 140 CPU-seconds). So the join key is (cell, slot): a
# stay's slot is the time bucket its start falls in, within a class of stays of similar length,
# and each index stay is listed under every slot a stay of that class overlapping it by the
# minimum could start in. A class of stays of at most L_k µs uses buckets of B_k µs: such a stay
# overlaps [s, e] by m only if it starts in [s + m - L_k, e - m]. Stays longer than every class
# share one slot per cell (the plain cell join, as before). The slot of a time t is
# CAST(t * (1 / B_k) AS BIGINT) * S + k: any non-decreasing function of t lists each pair once,
# so DuckDB's rounding and Spark's truncation of the cast both give the same pairs; the residue k
# keeps the classes apart, and -1 (residue S - 1) is the long stays' slot.
CELL_CLASSES = (
    (2 * US_PER_HOUR, 30 * US_PER_MINUTE),
    (12 * US_PER_HOUR, 3 * US_PER_HOUR),
)
_SLOTS = len(CELL_CLASSES) + 1
LONG_SLOT = -1


def _slot(expr: str, bucket_us: int, k: int) -> str:
    # An exponent keeps the literal a DOUBLE in both dialects (DuckDB reads 0.0005 as a DECIMAL).
    return f"(CAST(({expr}) * {1 / bucket_us:.17e} AS BIGINT) * {_SLOTS} + {k})"


def _cell_slots(min_us: int) -> str:
    """Each index stay under every (class, slot) an overlapping stay of that class can start in."""
    parts = []
    for k, (longest, bucket) in enumerate(CELL_CLASSES):
        longest = max(longest, min_us)
        lo = _slot(f"x.start_us + {min_us - longest}", bucket, k)
        hi = _slot(f"x.end_us - {min_us}", bucket, k)
        parts.append(
            f"""SELECT /*+ BROADCAST(f) */
       x.index_person_id, x.cell_id, x.window_end_us, x.start_us, x.end_us,
       {lo} + f.k * {_SLOTS} AS slot
FROM index_stays x
JOIN offsets f ON f.k * {_SLOTS} <= {hi} - {lo}"""
        )
    parts.append(
        f"""SELECT x.index_person_id, x.cell_id, x.window_end_us, x.start_us, x.end_us,
       {LONG_SLOT} AS slot
FROM index_stays x"""
    )
    return "\nUNION ALL\n".join(parts)


def _stay_slot(min_us: int) -> str:
    whens = " ".join(
        f"WHEN o.end_us - o.start_us <= {max(longest, min_us)} "
        f"THEN {_slot('o.start_us', bucket, k)}"
        for k, (longest, bucket) in enumerate(CELL_CLASSES)
    )
    return f"CASE {whens} ELSE {LONG_SLOT} END"


def _cell_offsets(min_us: int) -> Callable[[int], int]:
    def needed(longest_window_us: int) -> int:
        # A clipped index stay is at most its window long; +2 for the buckets cut at both ends.
        return 2 + max(
            (longest_window_us + max(longest, min_us)) // bucket + 1
            for longest, bucket in CELL_CLASSES
        )

    return needed


_INDEX_STAYS = """
SELECT /*+ BROADCAST(i) */
       i.person_id AS index_person_id, p.cell_id, i.window_end_us,
       GREATEST(p.start_us, i.window_start_us) AS start_us,
       LEAST(p.end_us, i.window_end_us) AS end_us
FROM presence p
JOIN index_windows i ON p.person_id = i.person_id
WHERE LEAST(p.end_us, i.window_end_us) - GREATEST(p.start_us, i.window_start_us) >= {min_us}
"""

_CELL = """
WITH episodes AS (
  SELECT /*+ BROADCAST(x) */
         x.index_person_id, o.person_id AS contact_person_id, x.cell_id, x.window_end_us,
         GREATEST(x.start_us, o.start_us) AS contact_start_us,
         LEAST(x.end_us, o.end_us) - GREATEST(x.start_us, o.start_us) AS overlap_us
  FROM (SELECT person_id, cell_id, start_us, end_us, {stay_slot} AS slot FROM presence o) o
  JOIN index_slots x ON o.cell_id = x.cell_id AND o.slot = x.slot
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
    sql = _CELL.format(
        min_us=min_us, stay_slot=_stay_slot(min_us), cumulative=cumulative, episodes=episodes
    )
    return Query(
        "cell",
        "presence",
        _published(sql),
        stages=(
            ("index_stays", _INDEX_STAYS.format(min_us=min_us)),
            ("index_slots", _cell_slots(min_us)),
        ),
        offsets=_cell_offsets(min_us),
    )


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
