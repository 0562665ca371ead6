"""The set-based engine of mass testing: sample and result files, pool outcomes, statuses, grid counts.

Ten million swabs a day cannot go through the ORM row by row. A file is parsed and checked as
Arrow columns (engine.py), matched to the registry and the registered tubes with one hash lookup
each, and written with COPY (binary for the swabs); pool outcomes, statuses and grid counts are
single SQL statements. Every row keeps its file line, so a bad row comes back with its line and
reason while the good rows go in; a re-import finds every swab stored and changes nothing.
"""

from __future__ import annotations

from ..engine import TIMINGS, FileError
from .base import LOCAL, RESULT_COLUMNS, RESULTS, SAMPLE_COLUMNS, _rows, parse_local
from .outcomes import apply_results, apply_results_for, turnaround_add
from .results import CT, import_results
from .samples import (
    BULK_SAMPLES,
    BULK_TUBES,
    PREFETCH_ROWS,
    REGISTRY_COLUMNS,
    SAMPLE_FIELDS,
    TUBE_COLUMNS,
    first_of,
    import_samples,
)
from .statuses import (
    STATUS_CASE,
    STATUSES,
    counts_by_status,
    export_status,
    stats_refresh,
    stats_refresh_later,
    status_sql,
    statuses_for,
    untested_sql,
)

__all__ = [
    "BULK_SAMPLES",
    "BULK_TUBES",
    "CT",
    "FileError",
    "LOCAL",
    "PREFETCH_ROWS",
    "REGISTRY_COLUMNS",
    "RESULTS",
    "RESULT_COLUMNS",
    "SAMPLE_COLUMNS",
    "SAMPLE_FIELDS",
    "STATUSES",
    "STATUS_CASE",
    "TIMINGS",
    "TUBE_COLUMNS",
    "_rows",
    "apply_results",
    "apply_results_for",
    "counts_by_status",
    "export_status",
    "first_of",
    "import_results",
    "import_samples",
    "parse_local",
    "stats_refresh",
    "stats_refresh_later",
    "status_sql",
    "statuses_for",
    "turnaround_add",
    "untested_sql",
]
