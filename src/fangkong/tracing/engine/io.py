"""Reading co-location inputs (Parquet/CSV files, directories, globs, Arrow tables) and writing results."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .rules import RESULT_COLUMNS, US_PER_DAY

RESULT_SCHEMA = pa.schema(
    [
        ("index_person_id", pa.string()),
        ("contact_person_id", pa.string()),
        ("episodes", pa.int64()),
        ("overlap_minutes", pa.decimal128(18, 2)),
        ("first_contact_at", pa.timestamp("s")),
    ]
)


@dataclass(frozen=True)
class Source:
    """Where an input lives: a file pattern and its format, or an Arrow table already in memory."""

    format: str  # "parquet", "csv" or "arrow"
    paths: tuple[str, ...] = ()
    table: pa.Table | None = None


def resolve(source: str | os.PathLike | pa.Table) -> Source:
    """Tell the format by extension; a directory or glob holds files of one format."""
    if isinstance(source, pa.Table):
        return Source("arrow", table=source)
    text = os.fspath(source)
    if os.path.isdir(text):
        files = [
            f
            for f in glob.glob(os.path.join(text, "**", "*"), recursive=True)
            if os.path.isfile(f) and not os.path.basename(f).startswith((".", "_"))
        ]
    elif glob.has_magic(text):
        files = [f for f in glob.glob(text, recursive=True) if os.path.isfile(f)]
    else:
        if not os.path.isfile(text):
            raise FileNotFoundError(f"no such input: {text}")
        files = [text]
    formats = {_format_of(f) for f in files} - {None}
    if not formats:
        raise ValueError(f"no .parquet or .csv files in {text}")
    if len(formats) > 1:
        raise ValueError(f"{text} mixes Parquet and CSV files")
    fmt = formats.pop()
    return Source(fmt, tuple(sorted(f for f in files if _format_of(f) == fmt)))


def _format_of(path: str) -> str | None:
    suffixes = [s.lower() for s in Path(path).suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if ".csv" in suffixes:
        return "csv"
    return None


def read_index(source: str | os.PathLike | pa.Table) -> pa.Table:
    """The infectious windows `person_id, window_start, window_end`, one row per index person."""
    if isinstance(source, pa.Table):
        table = source.select(["person_id", "window_start", "window_end"])
        table = table.set_column(0, "person_id", pc.cast(table["person_id"], pa.string()))
    else:
        table = pacsv.read_csv(
            source,
            convert_options=pacsv.ConvertOptions(
                column_types={"person_id": pa.string()},
                include_columns=["person_id", "window_start", "window_end"],
                strings_can_be_null=True,
            ),
        )
    for name in ("window_start", "window_end"):
        column = table[name]
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            # Accept both "YYYY-MM-DD HH:MM:SS" and the ISO "T" form, like the big inputs.
            column = pc.strptime(pc.replace_substring(column, "T", " "), "%Y-%m-%d %H:%M:%S", "us")
        elif pa.types.is_timestamp(column.type) and column.type.tz is not None:
            raise ValueError(f"index {name} must be naive local time, got {column.type}")
        table = table.set_column(
            table.schema.get_field_index(name), name, pc.cast(column, pa.timestamp("us"))
        )
    if table.num_rows:
        if (
            pc.any(pc.is_null(table["person_id"])).as_py()
            or pc.any(
                pc.or_(pc.is_null(table["window_start"]), pc.is_null(table["window_end"]))
            ).as_py()
        ):
            raise ValueError("index rows need person_id, window_start and window_end")
        if pc.any(pc.less(table["window_end"], table["window_start"])).as_py():
            raise ValueError("an index window ends before it starts")
        if pc.count_distinct(table["person_id"]).as_py() != table.num_rows:
            raise ValueError("the index lists a person twice; give one window per person")
    return table


def index_windows(index: pa.Table, *, integer_ids: bool) -> pa.Table:
    """The index as the rules read it: IDs typed like the big input's, times as integers."""
    ids = index["person_id"]
    if integer_ids:
        try:
            ids = pc.cast(ids, pa.int64())
        except pa.ArrowInvalid as exc:
            raise ValueError(
                "the input's person_id is numeric but an index person_id is not"
            ) from exc
    start = pc.cast(index["window_start"], pa.int64())
    end = pc.cast(index["window_end"], pa.int64())
    return pa.table(
        {
            "person_id": ids,
            "window_start_us": start,
            "window_end_us": end,
            "window_start_day": _floor_div(start, US_PER_DAY),
            "window_end_day": _floor_div(end, US_PER_DAY),
        }
    )


def offsets(query_offsets: Callable[[int], int] | None, windows: pa.Table) -> pa.Table | None:
    """The `offsets` table (k = 0, 1, ...) a rule asks for, sized by the longest index window."""
    if query_offsets is None:
        return None
    longest = 0
    if windows.num_rows:
        span = pc.subtract(windows["window_end_us"], windows["window_start_us"])
        longest = max(0, pc.max(span).as_py())
    return pa.table({"k": pa.array(range(query_offsets(longest)), pa.int64())})


def _floor_div(values: pa.ChunkedArray, divisor: int) -> pa.Array:
    return pa.array(np.floor_divide(values.to_numpy(), divisor), pa.int64())


def finish(raw: pa.Table) -> pa.Table:
    """Turn an engine's raw result into the published columns, identically for every engine."""
    raw = raw.select(list(RESULT_COLUMNS))
    overlap = raw["overlap_us"].combine_chunks() if raw.num_rows else pa.array([], pa.int64())
    first = raw["first_contact_us"].to_numpy() if raw.num_rows else np.array([], np.int64)
    table = pa.table(
        {
            "index_person_id": pc.cast(raw["index_person_id"], pa.string()),
            "contact_person_id": pc.cast(raw["contact_person_id"], pa.string()),
            "episodes": pc.cast(raw["episodes"], pa.int64()),
            "overlap_minutes": _minutes(pc.cast(overlap, pa.int64())),
            "first_contact_at": _seconds(first),
        },
        schema=RESULT_SCHEMA,
    )
    return table


def _seconds(first_us: np.ndarray) -> pa.Array:
    """Microseconds since 1970 to whole-second timestamps, floored (also before 1970)."""
    return pa.array(np.floor_divide(first_us, 1_000_000), pa.int64()).cast(pa.timestamp("s"))


def _minutes(overlap_us: pa.Array) -> pa.Array:
    """Microseconds to minutes with 2 decimals, rounded half up, exactly (no float on the way)."""
    n = len(overlap_us)
    if overlap_us.null_count == n:
        return pa.nulls(n, pa.decimal128(18, 2))
    us = overlap_us.fill_null(0).to_numpy(zero_copy_only=False)
    # A decimal128 is a little-endian 128-bit integer; overlaps are never negative, so the high
    # word is zero and the array can be built from the integer hundredths directly.
    words = np.zeros((n, 2), np.int64)
    np.floor_divide(us * 100 + 30_000_000, 60_000_000, out=words[:, 0])
    mask = overlap_us.buffers()[0] if overlap_us.null_count else None
    if mask is not None and overlap_us.offset:
        mask = pa.array(overlap_us.is_valid()).buffers()[1]
    return pa.Array.from_buffers(pa.decimal128(18, 2), n, [mask, pa.py_buffer(words)])


def write_csv(table: pa.Table, out: str | os.PathLike) -> None:
    """`index_person_id,contact_person_id,episodes,overlap_minutes,first_contact_at`, quoted only where needed."""
    # DuckDB's CSV writer quotes only fields that need it (Arrow's quotes every string) and is
    # fast on the million-row lists a dense downtown produces.
    import duckdb

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.register("result", table)
        target = str(out).replace("'", "''")
        con.execute(
            f"COPY (SELECT * FROM result) TO '{target}' (FORMAT csv, HEADER true, DELIMITER ',')"
        )


_HEADER = ",".join(RESULT_SCHEMA.names).encode() + b"\n"
_PIECE = 1 << 17  # rows per task: small enough that the allocator reuses its pages


def write_raw_csv(raw: pa.Table, out: str | os.PathLike) -> None:
    """An engine's raw result (rules.RESULT_COLUMNS, in its order) written as write_csv writes it.

    The lines are built by Arrow's compute kernels from the same minutes and seconds as finish(),
    a slice of rows per task on every core, and the text buffers written as they are: at tens of
    millions of contacts this is 30 % faster than finish() then write_csv(). IDs a CSV writer
    would quote take that path instead.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = raw.select(list(RESULT_COLUMNS))
    if any(_needs_quotes(raw[name]) for name in ("index_person_id", "contact_person_id")):
        write_csv(finish(raw), out)
        return
    from concurrent.futures import ThreadPoolExecutor

    pieces = [raw.slice(at, _PIECE) for at in range(0, raw.num_rows, _PIECE)]
    with open(out, "wb") as f, ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        f.write(_HEADER)
        for text in pool.map(_lines, pieces):
            f.write(text)


def _needs_quotes(ids: pa.ChunkedArray) -> bool:
    """Text a CSV writer quotes (or an empty one, which DuckDB writes as "")."""
    if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
        return False
    return bool(
        pc.any(pc.match_substring_regex(ids, r'[,"\r\n]|^$')).as_py()
        or pc.any(pc.is_null(ids)).as_py()
    )


def _lines(piece: pa.Table) -> pa.Buffer:
    text = [pc.cast(piece[name], pa.string()) for name in ("index_person_id", "contact_person_id")]
    text.append(pc.cast(piece["episodes"], pa.string()))
    overlap = pc.cast(piece["overlap_us"], pa.int64()).combine_chunks()
    text.append(pc.cast(_minutes(overlap), pa.string()))
    seconds = pc.cast(_seconds(piece["first_contact_us"].to_numpy()), pa.string())
    text.append(pc.binary_join_element_wise(seconds, "\n", ""))
    lines = pc.binary_join_element_wise(*text, ",", null_handling="replace")
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1, lines.offset * 4)
    return lines.buffers()[2][int(offsets[0]) : int(offsets[-1])]
