"""Running the co-location rules embedded on DuckDB over Parquet, CSV or Arrow inputs."""

from __future__ import annotations

import tempfile

import duckdb
import pyarrow as pa

from . import io
from .rules import DATE, INPUTS, INT, TIMESTAMP, Query

_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
}


def connect(
    *, threads: int | None = None, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"preserve_insertion_order": False})
    # Time-zone-aware inputs are read as Shanghai wall-clock time, the naive local time of every
    # other input; naive timestamps are never converted.
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/fangkong-duckdb'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    return con


def run(
    query: Query,
    source: io.Source,
    index: pa.Table,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pa.Table:
    """Run one rule; returns the raw result columns of rules.RESULT_COLUMNS."""
    own = con is None
    con = con or connect()
    try:
        _register_input(con, query.source, source)
        integer_ids = _column_type(con, query.source, "person_id") in _INTEGER_TYPES
        windows = io.index_windows(index, integer_ids=integer_ids)
        con.register("index_windows", windows)
        offsets = io.offsets(query.offsets, windows)
        if offsets is not None:
            con.register("offsets", offsets)
        for name, sql in query.stages:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        return con.sql(query.sql).to_arrow_table()
    finally:
        if own:
            con.close()


def _register_input(con: duckdb.DuckDBPyConnection, name: str, source: io.Source) -> None:
    kinds = INPUTS[name]
    if source.format == "arrow":
        con.register(f"{name}_raw", source.table)
        relation = f"{name}_raw"
    elif source.format == "parquet":
        relation = f"read_parquet({_list(source.paths)})"
    else:
        # Every CSV field is read as text so IDs keep their leading zeros; the loader casts the rest.
        relation = f"read_csv({_list(source.paths)}, header = true, all_varchar = true)"
    columns = []
    for column, kind in kinds.items():
        quoted = f'"{column}"'
        if kind == TIMESTAMP:
            columns.append(f"epoch_us(CAST({quoted} AS TIMESTAMP)) AS {column}_us")
        elif kind == DATE:
            columns.append(
                f"CAST(CAST({quoted} AS DATE) - DATE '1970-01-01' AS BIGINT) AS {column}_day"
            )
        elif kind == INT:
            columns.append(f"CAST({quoted} AS BIGINT) AS {column}")
        else:
            columns.append(quoted)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(columns)} FROM {relation}"
    )
    id_type = _column_type(con, name, "person_id")
    if id_type not in _INTEGER_TYPES and id_type != "VARCHAR":
        # Anything else (DOUBLE, DECIMAL...) is compared as text, as the specification says IDs are.
        columns[0] = 'CAST("person_id" AS VARCHAR) AS person_id'
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(columns)} FROM {relation}"
        )


def _column_type(con: duckdb.DuckDBPyConnection, view: str, column: str) -> str:
    rows = con.execute(f"DESCRIBE SELECT {column} FROM {view}").fetchall()
    return rows[0][1]


def _list(paths: tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
