"""Columnar plumbing of the bulk imports: CSV files to Arrow columns, and Arrow in and out of the database.

A round's file has ten million rows. Parsing them in SQL (split_part on raw lines in a temporary
table) and joining them there took minutes on two cores, one single-threaded pass after another,
each writing a wide temporary table. Arrow's CSV reader splits the file in C++ on every core, the
checks are vector operations, the registry is matched with one hash lookup, and rows reach
PostgreSQL by COPY (binary for the ten million swabs, built with numpy, so nothing is formatted
or parsed per row). SQLite (tests, the demo) takes the same path with executemany at the edges.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection, connections
from django.utils.translation import gettext as _

from fangkong.common import imports
from fangkong.common.imports import Rejected

# Seconds per phase of the last import in this process, for the benchmark and `-v 2`.
TIMINGS: dict[str, float] = {}
EPOCH_US = 0
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC, PostgreSQL's zero, in Unix microseconds


class FileError(ValueError):
    """The file as a whole cannot be read (no header, missing columns)."""


def pg() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def timed(name: str):
    started = time.perf_counter()
    try:
        yield
    finally:
        TIMINGS[name] = TIMINGS.get(name, 0.0) + time.perf_counter() - started


# --------------------------------------------------------------------------- reading files


@dataclass
class Parsed:
    """The wanted columns of a file (trimmed text), each row's file line, and rows too short
    (their line and text); `index` is each wanted column's place in the file's header."""

    columns: dict[str, pa.Array]
    lines: np.ndarray
    short: list[tuple[int, str]]
    index: dict[str, int] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines)

    def values(self, i: int) -> list[str]:
        """Row i's cells in the order of `columns`."""
        return [col[i].as_py() for col in self.columns.values()]

    def short_values(self, text: str) -> list[str]:
        """A short row's cells in the order of `columns`, empty where it stops."""
        cells = next(csv.reader([text]), [])
        places = [self.index.get(name) for name in self.columns]
        return [cells[i].strip() if i is not None and i < len(cells) else "" for i in places]


def header(first_line: str, required: list[str], optional: list[str]) -> tuple[dict, int]:
    names = [name.strip().lstrip("\ufeff").lower() for name in next(csv.reader([first_line]), [])]
    missing = [name for name in required if name not in names]
    if missing:
        raise FileError(_("missing columns: %(columns)s") % {"columns": ", ".join(missing)})
    return {name: names.index(name) for name in required + optional if name in names}, len(names)


def read_csv(source, required: list[str], optional: list[str]) -> Parsed:
    """`source`: a file or the bytes (or text) read from one."""
    data = source if isinstance(source, bytes | str) else source.read()
    if isinstance(data, str):
        data = data.encode()
    data = bytes(data).removeprefix(b"\xef\xbb\xbf")
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).decode("utf-8", "replace").rstrip("\r")
    if not first.strip():
        raise FileError(_("the file is empty"))
    index, width = header(first, required, optional)
    need = max(index[name] for name in required) + 1
    wanted = required + optional
    if b'"' in data:
        # Quoted fields may hold commas and newlines: only a real CSV reader knows the lines.
        parsed = _read_python(data, index, need, wanted)
    else:
        parsed = _read_arrow(data, index, width, need, wanted)
    # Lines of nothing but commas and spaces are not rows; only a line whose first field is
    # empty can be one, so the other fields are looked at for those lines alone.
    first = next(iter(parsed.columns.values()))
    keep = pc.not_equal(first, "").to_numpy(zero_copy_only=False)
    maybe = np.flatnonzero(~keep)
    if len(maybe):
        at = pa.array(maybe)
        for column in parsed.columns.values():
            keep[maybe] |= pc.not_equal(column.take(at), "").to_numpy(zero_copy_only=False)
    parsed.index = index
    if not keep.all():
        mask = pa.array(keep)
        parsed.columns = {k: v.filter(mask) for k, v in parsed.columns.items()}
        parsed.lines = parsed.lines[keep]
    return parsed


def _read_python(data: bytes, index: dict, need: int, wanted: list[str]) -> Parsed:
    reader = csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline=""))
    next(reader, None)
    values: dict[str, list[str]] = {name: [] for name in wanted}
    lines, short = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < need:
            short.append((reader.line_num, ",".join(row)))
            continue
        for name in wanted:
            i = index.get(name)
            values[name].append(row[i].strip() if i is not None and i < len(row) else "")
        lines.append(reader.line_num)
    return Parsed(
        {k: pa.array(v, pa.string()) for k, v in values.items()},
        np.array(lines, dtype=np.int64),
        short,
    )


def _read_arrow(data: bytes, index: dict, width: int, need: int, wanted: list[str]) -> Parsed:
    names = [f"c{i}" for i in range(width)]
    include = sorted({f"c{index[name]}" for name in wanted if name in index})
    bad: list[tuple[int | None, str]] = []

    def handler(row):
        bad.append((row.number, row.text))
        return "skip"

    def parse(threads: bool, watch: bool = True) -> pa.Table:
        bad.clear()
        return pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(
                use_threads=threads, skip_rows=1, column_names=names, block_size=1 << 24
            ),
            # Blank lines stay rows (of empty fields) so that row k is line k + 2.
            parse_options=pacsv.ParseOptions(
                invalid_row_handler=handler if watch else None, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=include,
                column_types={name: pa.string() for name in include},
                strings_can_be_null=False,
            ),
        )

    try:
        # A Python row handler slows Arrow's reader several times over even when it is never
        # called: files of rows all of one width are read without it.
        table = parse(True, watch=False)
    except pa.ArrowInvalid:
        table = parse(True)
    if bad:
        # Rows of another width are skipped; only a single-threaded read says which lines they were.
        table = parse(False)
    columns = {
        name: _trimmed(table.column(f"c{index[name]}").combine_chunks())
        if name in index
        else pc.fill_null(pa.nulls(table.num_rows, pa.string()), "")
        for name in wanted
    }
    total = table.num_rows + len(bad)
    lines = np.arange(2, total + 2, dtype=np.int64)
    short = []
    if bad:
        taken = np.array([number for number, _text in bad], dtype=np.int64)
        lines = lines[~np.isin(lines, taken)]
        extra: dict[str, list[str]] = {name: [] for name in wanted}
        extra_lines = []
        for number, text in bad:
            cells = text.split(",")
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) < need:
                short.append((number, text))
                continue
            for name in wanted:
                i = index.get(name)
                extra[name].append(cells[i].strip() if i is not None and i < len(cells) else "")
            extra_lines.append(number)
        if extra_lines:
            columns = {
                name: pa.concat_arrays([columns[name], pa.array(extra[name], pa.string())])
                for name in wanted
            }
            lines = np.concatenate([lines, np.array(extra_lines, dtype=np.int64)])
    return Parsed(columns, lines, short)


def _trimmed(column: pa.Array) -> pa.Array:
    # A copy of ten million strings only when some value has a space to lose.
    if len(column) and pc.any(pc.match_substring(column, " ")).as_py():
        return pc.utf8_trim(column, " ")
    return column


def local_times(texts: pa.Array, parse) -> np.ndarray:
    """Unix microseconds of each 'YYYY-MM-DD HH:MM:SS' (Asia/Shanghai); -1 where malformed.
    Each distinct text is parsed once: a day of swabs has at most 86,400 of them."""
    distinct = pc.unique(texts)
    micros = np.array(
        [-1 if (value := parse(text)) is None else _micros(value) for text in distinct.to_pylist()],
        dtype=np.int64,
    )
    return micros[pc.index_in(texts, value_set=distinct).to_numpy(zero_copy_only=False)]


def _micros(value: dt.datetime) -> int:
    return (value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def as_datetime(micros: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))


# --------------------------------------------------------------------------- errors


class Errors:
    """One error code per row, the first check that fails wins; code 0 is a good row."""

    def __init__(self, n: int):
        self.code = np.zeros(n, dtype=np.int16)
        self.reasons: list[tuple[str, str]] = [("", "")]

    def add(self, mask, column: str, reason: str) -> None:
        if isinstance(mask, pa.Array | pa.ChunkedArray):
            mask = mask.to_numpy(zero_copy_only=False)
        hit = np.asarray(mask, dtype=bool) & (self.code == 0)
        if hit.any():
            self.reasons.append((column, reason))
            self.code[hit] = len(self.reasons) - 1

    def set_rows(self, rows: np.ndarray, column: str, reason: str) -> None:
        mask = np.zeros(len(self.code), dtype=bool)
        mask[rows] = True
        self.add(mask, column, reason)

    @property
    def good(self) -> np.ndarray:
        return self.code == 0


def collect(parsed: Parsed, errors: Errors, keep: int) -> Rejected:
    """Every rejected row counted, the first `keep` (by line) stored in the shape every importer
    stores (common.imports.Rejected). Python touches the kept rows only."""
    bad = np.flatnonzero(~errors.good)
    lines = np.concatenate(
        [parsed.lines[bad], np.array([line for line, _text in parsed.short], dtype=np.int64)]
    )
    # Where each line's row is: i >= 0 a parsed row, -1 - k the k-th short row.
    where = np.concatenate([bad, -1 - np.arange(len(parsed.short), dtype=np.int64)])
    total = len(lines)
    first = np.argsort(lines, kind="stable")[: max(keep, 0)]
    kept, rows = [], []
    for line, i in zip(lines[first].tolist(), where[first].tolist(), strict=True):
        if i < 0:
            values = parsed.short_values(parsed.short[-1 - i][1])
            column, value, reason = "", "", imports.reason("too few columns")
        else:
            values = parsed.values(i)
            column, reason = errors.reasons[errors.code[i]]
            value = parsed.columns[column][i].as_py() if column in parsed.columns else ""
        kept.append(
            {"line": line, "column": column, "value": value, **imports.reason_fields(reason)}
        )
        rows.append({"line": line, "values": values})
    return Rejected(total, kept, rows, truncated=total > len(rows))


# --------------------------------------------------------------------------- database in and out


def select(sql: str, params, schema: list[tuple[str, pa.DataType]]) -> pa.Table:
    """A query's rows as an Arrow table (PostgreSQL: COPY … TO STDOUT, parsed by Arrow)."""
    names = [name for name, _t in schema]
    with connection.cursor() as cursor:
        if pg():
            query = cursor.cursor.mogrify(sql, params) if params else sql
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
                data = b"".join(bytes(chunk) for chunk in copy)
            if not data:
                return pa.table({name: pa.array([], t) for name, t in schema})
            return pacsv.read_csv(
                pa.py_buffer(data),
                read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict(schema),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    return pa.table(
        {name: pa.array(list(col), t) for (name, t), col in zip(schema, columns, strict=True)}
    )


def estimated_rows(table: str) -> float:
    with connection.cursor() as cursor:
        if not pg():
            cursor.execute(f"SELECT count(*) FROM {table}")
            return float(cursor.fetchone()[0])
        # At least one row per 100 bytes of filled page: the statistics may predate a bulk load.
        cursor.execute(
            "SELECT GREATEST(reltuples, pg_relation_size(oid) / 100.0 * COALESCE((SELECT "
            "option_value::int FROM pg_options_to_table(reloptions) WHERE option_name = "
            "'fillfactor'), 100) / 100) FROM pg_class WHERE oid = %s::regclass",
            [table],
        )
        return float(cursor.fetchone()[0])


WHOLE_TABLE_KEYS = 20_000  # fewer keys than this are looked up by index


def wants_whole(keys: int, table: str) -> bool:
    """Whether `keys` lookups are cheaper as one read of the whole table."""
    return keys > WHOLE_TABLE_KEYS and keys * 8 > estimated_rows(table)


class Prefetch:
    """The whole of a table read on a connection of its own while this thread parses the file:
    the server packs the rows (seconds of its CPU for a city's registry) while Arrow splits the
    CSV. The read sees the last committed registry, not this transaction's: an import writes no
    people, and a person registered in between is reported as unknown and taken on re-import."""

    def __init__(
        self,
        table: str,
        key: str | None,
        columns: list[tuple[str, pa.DataType]],
        where: str = "",
        params=None,
    ):
        self.table, self.where, self.params = table, where, params
        self.schema = [(key, pa.string()), *columns] if key else columns
        self.result: pa.Table | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = fetch_all(self.table, self.schema, self.where, self.params)
        except BaseException as exc:  # handed to the importing thread, which raises it
            self.error = exc
        finally:
            connections.close_all()

    def get(self) -> pa.Table:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.result


def lookup(
    keys: pa.Array,
    *,
    table: str,
    key: str,
    columns: list[tuple[str, pa.DataType]],
    where: str = "",
    prefetched: Prefetch | None = None,
) -> tuple[np.ndarray, pa.Table, bool]:
    """For each key, the row index into the returned table of `table`'s matching row (-1: none),
    and whether the table came back whole.

    Many keys against a table not much larger (a city's file against its registry): the whole
    table in one COPY and one hash lookup in Arrow. Few keys: indexed lookups in batches."""
    schema = [(key, pa.string()), *columns]
    cols = ", ".join(name for name, _t in schema)
    cond = f" AND {where}" if where else ""
    whole = prefetched is not None or (
        len(keys) > WHOLE_TABLE_KEYS
        and wants_whole(len(pc.unique(keys) if len(keys) < 8 * WHOLE_TABLE_KEYS else keys), table)
    )
    if prefetched is not None:
        found = prefetched.get()
    elif whole:
        found = fetch_all(table, schema, where)
    else:
        parts, values = [], pc.unique(keys).to_pylist()
        step = 100_000 if pg() else 5_000
        for start in range(0, len(values), step):
            batch = values[start : start + step]
            if pg():
                sql = f"SELECT {cols} FROM {table} WHERE {key} = ANY(%s){cond}"
                parts.append(select(sql, [batch], schema))
            else:
                marks = ", ".join(["%s"] * len(batch))
                parts.append(
                    select(
                        f"SELECT {cols} FROM {table} WHERE {key} IN ({marks}){cond}", batch, schema
                    )
                )
        found = pa.concat_tables(parts) if parts else select("SELECT 1 WHERE 1 = 0", None, schema)
    found = found.combine_chunks()
    at = _match(keys, found.column(key).combine_chunks())
    return at, found, whole


SEPARATOR = "\x1f"  # the ASCII unit separator: in no barcode, ID number or code


def fetch_all(
    table: str, schema: list[tuple[str, pa.DataType]], where: str = "", params=None
) -> pa.Table:
    """Whole columns of a table, fast: COPY and cursors hand rows over one by one (ten million
    Python calls for the registry), so rows are packed in groups of 65,536 ids on the server,
    integers and times as 8-byte binary, texts joined by a separator, received in binary and
    unpacked here with numpy/Arrow. Times come back as Unix microseconds (int64)."""
    if not pg():
        cols = ", ".join(name for name, _t in schema)
        return select(
            f"SELECT {cols} FROM {table} {'WHERE ' + where if where else ''}", params or [], schema
        )
    parts = []
    for name, kind in schema:
        if pa.types.is_integer(kind):
            parts.append(f"string_agg(int8send(COALESCE({name}, -1)), '')")
        elif pa.types.is_timestamp(kind):
            parts.append(f"string_agg(timestamptz_send({name}), '')")
        else:
            parts.append(f"string_agg(COALESCE({name}, ''), E'\\x1f')")
    sql = f"SELECT {', '.join(parts)} FROM {table} {'WHERE ' + where if where else ''} GROUP BY id >> 16"
    connection.ensure_connection()
    # Django's cursors bind on the client, and those cannot receive binary results.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        groups = cursor.fetchall()
    columns = {}
    for k, (name, kind) in enumerate(schema):
        if pa.types.is_integer(kind) or pa.types.is_timestamp(kind):
            values = np.concatenate(
                [np.frombuffer(g[k], dtype=">i8") for g in groups] or [np.zeros(0, ">i8")]
            ).astype(np.int64)
            if pa.types.is_timestamp(kind):
                values += PG_EPOCH_US
            columns[name] = pa.array(values)
        else:
            columns[name] = (
                _split(SEPARATOR.join(g[k] for g in groups).encode())
                if groups
                else pa.array([], pa.string())
            )
    return pa.table(columns)


def _split(raw: bytes) -> pa.Array:
    """Separator-joined UTF-8 texts as an Arrow string array, built from its buffers: Arrow's
    split_pattern took 8 s for the registry's ten million ID numbers, this well under 2. The
    separator byte never occurs inside a multi-byte UTF-8 character."""
    sep = SEPARATOR.encode()
    n = raw.count(sep) + 1
    data = raw.replace(sep, b"")
    width, rest = divmod(len(data), n)
    buf = np.frombuffer(raw, dtype=np.uint8)
    if not rest and (buf[width :: width + 1] == sep[0]).all():
        # All texts of one width (ID numbers): the offsets need no search.
        offsets = np.arange(n + 1, dtype=np.int64) * width
    else:
        at = np.flatnonzero(buf == sep[0])
        offsets = np.empty(n + 1, dtype=np.int64)
        offsets[0], offsets[-1] = 0, len(data)
        offsets[1:-1] = at - np.arange(len(at))
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    ).cast(pa.string())


@contextmanager
def indexes_set_aside(table: str, keep: tuple[str, ...] = (), primary: bool = False):
    """Drop a table's secondary indexes (and unique constraints) for a bulk write and rebuild each
    from one sort afterwards: ten million random index insertions cost more than the sort. Inside
    the caller's transaction, which holds the table's lock until the indexes are back.

    `primary`: the primary key too, for a writer that takes its ids from the sequence in one
    step (they cannot collide) and a table no foreign key points at. Ten million swabs: the COPY
    with the key 15.4 s and 1.17 GB of WAL, without it and the key built after 11.0 s and 0.74 GB."""
    from fangkong.common.dbroles import owns

    if not pg() or not owns(table):
        yield  # the application role may not drop indexes: the writes keep them
        return
    kinds = "('u', 'p')" if primary else "('u')"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid = %s::regclass AND contype IN {kinds} ORDER BY contype, conname",
            [table],
        )
        constraints = [row for row in cursor.fetchall() if row[0] not in keep]
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass "
            "AND NOT i.indisprimary AND i.indexrelid NOT IN "
            "(SELECT conindid FROM pg_constraint WHERE conindid <> 0) ORDER BY c.relname",
            [table],
        )
        indexes = [row for row in cursor.fetchall() if row[0] not in keep]
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    with timed(f"{table} indexes"), connection.cursor() as cursor:
        # An index cannot be built while checks of foreign keys are queued on the table.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            cursor.execute(definition)


def _match(keys: pa.Array, values: pa.Array) -> np.ndarray:
    """For each key its first position in `values`, -1 where absent."""
    numbers = id_keys(keys)
    known = id_keys(values) if numbers is not None else None
    if numbers is not None and known is not None:
        # Resident ID numbers as integers: a sort and a binary search instead of hashing
        # ten million strings twice.
        if not len(known):
            return np.full(len(keys), -1, dtype=np.int64)
        order = np.argsort(known, kind="stable")
        ranked = known[order]
        # Needles in order too: ten million binary searches in random order miss the cache on
        # every step (3.8 s here); sorted, each search starts where the last one ended (~1 s).
        needles = np.argsort(numbers)
        wanted = numbers[needles]
        pos = np.minimum(np.searchsorted(ranked, wanted), len(ranked) - 1)
        at = np.empty(len(numbers), dtype=np.int64)
        at[needles] = np.where(ranked[pos] == wanted, order[pos], -1)
        return at
    where_in = pc.index_in(keys, value_set=values)
    return pc.fill_null(where_in, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def id_keys(values: pa.Array) -> np.ndarray | None:
    """18-character resident ID numbers (17 digits and a check digit or X) as distinct integers,
    read straight from Arrow's buffers; None when any value is not one."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if values.type != pa.string() or values.null_count:
        return None
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset : values.offset + n + 1
    ]
    if offsets[-1] - offsets[0] != 18 * n or not np.all(np.diff(offsets) == 18):
        return None
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    chars = data.reshape(n, 18) - np.uint8(48)  # digits 0-9; anything else wraps past 9
    if chars[:, :17].max() > 9:
        return None
    last = chars[:, 17]
    x = np.uint8(ord("X") - 48)
    if ((last > 9) & (last != x)).any():
        return None
    key = np.empty(n, dtype=np.int64)
    step = 1 << 18  # column by column within blocks that stay in the cache: no 10M x 17 int64
    for start in range(0, n, step):
        block = chars[start : start + step]
        part = np.zeros(len(block), dtype=np.int64)
        for i in range(17):
            part *= 10
            part += block[:, i]
        key[start : start + step] = part
    return key * 11 + np.where(last == x, 10, last)


def copy_rows(table: str, columns: list[str], data: pa.Table) -> None:
    """Append Arrow rows to a table: COPY csv on PostgreSQL, executemany on SQLite."""
    if not data.num_rows:
        return
    cols = ", ".join(columns)
    with connection.cursor() as cursor:
        if pg():
            buffer = io.BytesIO()
            pacsv.write_csv(
                _times_as_text(data),
                buffer,
                pacsv.WriteOptions(include_header=False, batch_size=1 << 16),
            )
            with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buffer.getbuffer())
            return
        rows = list(
            zip(*(_sqlite_values(data.column(i)) for i in range(data.num_columns)), strict=True)
        )
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def _times_as_text(data: pa.Table) -> pa.Table:
    """Whole-second timestamp columns as text, each distinct second formatted once: Arrow's CSV
    writer formats every timestamp on its own, 1.5 s per column of a million tubes."""
    for i, field in enumerate(data.schema):
        if not pa.types.is_timestamp(field.type):
            continue
        column = data.column(i).combine_chunks()
        micros = pc.fill_null(column.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
        if (micros % 1_000_000).any():
            continue
        seconds, at = np.unique(micros // 1_000_000, return_inverse=True)
        zone = "+00" if field.type.tz else ""
        texts = pa.array(
            [
                (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(x))).strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
                + zone
                for x in seconds
            ],
            pa.string(),
        )
        taken = texts.take(
            pa.array(at.astype(np.int64), mask=~column.is_valid().to_numpy(zero_copy_only=False))
        )
        data = data.set_column(i, field.name, taken)
    return data


def _sqlite_values(column) -> list:
    values = column.to_pylist()
    if pa.types.is_timestamp(column.type):
        adapt = connection.ops.adapt_datetimefield_value
        return [None if v is None else adapt(v) for v in values]
    return values


def timestamps(micros: np.ndarray) -> pa.Array:
    return pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC"))


# PGCOPY binary: a signature, flags and header extension, then per row a field count and each
# field as a length and big-endian bytes; -1 ends the stream.
_PGCOPY_HEAD = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_PGCOPY_TAIL = struct.pack(">h", -1)


WIDTHS = {"int2": 2, "int8": 8, "timestamptz": 8, "bool": 1}


def copy_binary(table: str, columns: list[str], fields: list[tuple[str, np.ndarray]]) -> None:
    """COPY rows of fixed-width fields, given as ('int2' | 'int8' | 'timestamptz' | 'bool' |
    'text:VALUE', numpy array or scalar) pairs, one per column. PostgreSQL neither parses nor
    converts them."""
    n = max(len(values) for kind, values in fields if not kind.startswith("text:"))
    layout = [("count", ">i2")]
    for k, (kind, _values) in enumerate(fields):
        size = WIDTHS.get(kind) or len(kind) - 5
        if kind == "int2":
            dtype = ">i2"
        elif kind in ("int8", "timestamptz"):
            dtype = ">i8"
        elif kind == "bool":
            dtype = "u1"
        else:
            dtype = f"S{size}"
        layout += [(f"l{k}", ">i4"), (f"v{k}", dtype)]
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)"
        ) as copy,
    ):
        copy.write(_PGCOPY_HEAD)
        # Packed a million rows at a time: ten million swabs packed at once took 630 MB.
        step = 1 << 20
        for start in range(0, n, step):
            stop = min(n, start + step)
            rows = np.empty(stop - start, dtype=np.dtype(layout))
            rows["count"] = len(fields)
            for k, (kind, values) in enumerate(fields):
                if kind.startswith("text:"):
                    rows[f"l{k}"] = len(kind) - 5
                    rows[f"v{k}"] = kind[5:].encode()
                    continue
                rows[f"l{k}"] = WIDTHS[kind]
                part = values[start:stop] if np.ndim(values) else values
                if kind == "timestamptz":
                    part = np.asarray(part, dtype=np.int64) - PG_EPOCH_US
                rows[f"v{k}"] = part
            copy.write(rows.view(np.uint8).data)
        copy.write(_PGCOPY_TAIL)
