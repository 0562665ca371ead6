"""Bulk-import and export machinery shared by every app: read CSV/XLSX, collect row errors, finish jobs, write files."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from .models import ImportJob

CHUNK_SIZE = 5000
# Enough bytes to hold many rows of Chinese names, so the encoding guess is sound.
_SNIFF_BYTES = 1 << 20
# Cells Excel would run as a formula; exports prefix them with a quote (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported: unreadable, no header, or required columns missing."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = f"line {self.line}, {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.reason}"


@dataclass
class RowErrors:
    """Collects every rejected line with its errors and its original cells."""

    errors: list[RowError] = field(default_factory=list)
    rejected_rows: dict[int, list[str]] = field(default_factory=dict)

    def reject(self, line: int, values: Sequence[str], errors: Iterable[RowError]) -> None:
        self.errors.extend(errors)
        self.rejected_rows.setdefault(line, list(values))

    def reject_one(self, line: int, values: Sequence[str], column: str, value, reason: str) -> None:
        self.reject(
            line, values, [RowError(line, column, "" if value is None else str(value), reason)]
        )

    def is_rejected(self, line: int) -> bool:
        return line in self.rejected_rows

    @property
    def count(self) -> int:
        return len(self.rejected_rows)


# --- reading ---------------------------------------------------------------------------------


def normalize_header(cell: str) -> str:
    return cell.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


@dataclass
class Table:
    """A file opened for import. `columns` are the canonical names of `header`'s cells; each row
    of `rows` is (line, {column: value}) with values as stripped strings and cells beyond the
    header under the key None (the csv.DictReader convention)."""

    header: list[str]
    columns: list[str]
    rows: Iterator[tuple[int, dict]]
    _close: Any = None

    def original(self, row: dict) -> list[str]:
        return [row.get(column, "") for column in self.columns] + list(row.get(None, []))

    def close(self) -> None:
        if self._close is not None:
            self._close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_table(
    source,
    *,
    filename: str = "",
    aliases: dict[str, str] | None = None,
    required: Sequence[str] = (),
) -> Table:
    """Open a CSV (UTF-8, UTF-8 with BOM, or GB18030 as Chinese Excel writes it) or an XLSX.

    `source` is a path or a file object (binary or text); `filename` decides the format when
    `source` is a file object. `aliases` maps normalized header cells (lower case, spaces as
    underscores) to canonical column names. Raises ImportFileError when the file cannot be read,
    has no header, repeats a column, or lacks one of `required`.
    """
    name = str(filename or getattr(source, "name", "") or source)
    try:
        if name.lower().endswith((".xlsx", ".xlsm")):
            header, cells, close = _open_xlsx(source)
        else:
            header, cells, close = _open_csv(source)
    except ImportFileError:
        raise
    except (OSError, UnicodeError, csv.Error, ValueError, KeyError) as exc:
        raise ImportFileError(_("the file cannot be read: %(error)s") % {"error": exc}) from exc
    try:
        columns = _map_columns(header, aliases or {}, required)
    except ImportFileError:
        close()
        raise
    return Table(header=header, columns=columns, rows=_rows(columns, cells), _close=close)


def _map_columns(header: list[str], aliases: dict[str, str], required: Sequence[str]) -> list[str]:
    if not any(header):
        raise ImportFileError(_("the file has no header line"))
    columns = []
    for position, cell in enumerate(header, start=1):
        key = normalize_header(cell)
        columns.append(aliases.get(key, key) or f"column_{position}")
    seen = set()
    for column in columns:
        if column in seen:
            raise ImportFileError(_("the column %(column)s appears twice") % {"column": column})
        seen.add(column)
    missing = [column for column in required if column not in seen]
    if missing:
        raise ImportFileError(
            _("required columns are missing: %(columns)s") % {"columns": ", ".join(missing)}
        )
    return columns


def _rows(columns: list[str], cells: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, dict]]:
    width = len(columns)
    for line, values in cells:
        if not any(values):
            continue
        row = dict(zip(columns, values[:width], strict=False))
        if len(values) < width:
            row.update(dict.fromkeys(columns[len(values) :], ""))
        elif len(values) > width and any(values[width:]):
            row[None] = values[width:]
        yield line, row


def _cell(value) -> str:
    """One cell as text: Excel numbers without '.0', dates as ISO, quotes from our exports undone."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_START:
        return text[1:]
    return text


def _text(value: str) -> str:
    """A CSV cell (always text): the cheap path of _cell, run a million times on big files."""
    value = value.strip()
    if value[:1] == "'" and value[1:2] in _FORMULA_START and len(value) > 1:
        return value[1:]
    return value


def _open_xlsx(source):
    from openpyxl import load_workbook

    if not isinstance(source, str | os.PathLike):
        # openpyxl needs random access (an XLSX is a zip); uploads may not offer it reliably.
        source = io.BytesIO(_read_all(source))
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken zip
        raise ImportFileError(_("the file is not a readable XLSX workbook")) from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    first = next(rows, None)
    if first is None:
        workbook.close()
        raise ImportFileError(_("the file has no header line"))
    header = [_cell(value) for value in first]
    while header and not header[-1]:
        header.pop()
    cells = ((line, [_cell(v) for v in values]) for line, values in enumerate(rows, start=2))
    return header, cells, workbook.close


def _read_all(source) -> bytes:
    data = source.read()
    return data.encode("utf-8") if isinstance(data, str) else data


class _Prefixed(io.RawIOBase):
    """A binary stream that replays already-read bytes before the rest of any `.read()`-able object,
    so the encoding can be sniffed without seeking (uploads are not always seekable)."""

    def __init__(self, head: bytes, rest):
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # Not final: the sample may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _open_csv(source):
    if isinstance(source, str | os.PathLike):
        stream = open(source, "rb")  # closed by Table.close, or here if the header fails
        try:
            header, cells, _close = _open_csv(stream)
        except BaseException:
            stream.close()
            raise
        return header, cells, stream.close
    head = source.read(_SNIFF_BYTES)
    if isinstance(head, str):
        text = io.StringIO((head + source.read()).lstrip("\ufeff"), newline="")
    else:
        text = io.TextIOWrapper(
            io.BufferedReader(_Prefixed(head, source)), encoding=_sniff_encoding(head), newline=""
        )
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("the file is neither UTF-8 nor GB18030 text")) from exc
    if header is None:
        raise ImportFileError(_("the file has no header line"))
    header = [cell.strip() for cell in header]
    while header and not header[-1]:
        header.pop()

    def cells():
        start = reader.line_num + 1
        try:
            for values in reader:
                # A quoted cell may span lines; the row is reported at the line where it starts.
                yield start, [_text(v) for v in values]
                start = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                _("line %(line)s and later cannot be decoded; save the file as UTF-8")
                % {"line": start}
            ) from exc
        except csv.Error as exc:
            raise ImportFileError(
                _("line %(line)s is not valid CSV: %(error)s") % {"line": start, "error": exc}
            ) from exc

    return header, cells(), lambda: None


def chunked(iterable: Iterable, size: int = CHUNK_SIZE) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# --- parsing cells ---------------------------------------------------------------------------


def parse_date(value: str) -> dt.date:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, or an Excel serial day number; ValueError else."""
    text = value.strip()
    if text.isdigit() and len(text) <= 5:
        return _EXCEL_EPOCH + dt.timedelta(days=int(text))
    if text.isdigit() and len(text) == 8:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    text = text.split(" ", 1)[0].replace("/", "-").replace(".", "-")
    parts = text.split("-")
    if len(parts) != 3 or not all(part.isdigit() for part in parts) or len(parts[0]) != 4:
        raise ValueError(value)
    return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))


# --- jobs ------------------------------------------------------------------------------------


def job_start(*, kind: str, filename: str, actor, jurisdiction_path: str) -> ImportJob:
    """The job row of an import: the one a worker claimed for it (common.jobs), else a new one,
    leased to this process so that the reaper fails it if the process is killed."""
    from .jobs import claimed_job, lease_fields

    claimed = claimed_job()
    if claimed is not None:
        return claimed
    return ImportJob.objects.create(
        kind=kind,
        filename=os.path.basename(str(filename))[:255],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        jurisdiction_path=jurisdiction_path,
        **lease_fields(),
    )


def job_progress(
    job: ImportJob, *, total: int, created: int, updated: int, unchanged: int, rejected: int
) -> None:
    """Counts so far, so a page polling a long job shows it moving."""
    job.total_rows, job.created, job.updated = total, created, updated
    job.unchanged, job.rejected = unchanged, rejected
    job.save(update_fields=["total_rows", "created", "updated", "unchanged", "rejected"])


def job_finish(
    job: ImportJob,
    *,
    header: list[str],
    errors: RowErrors,
    total: int,
    created: int,
    updated: int,
    unchanged: int,
    message: str = "",
) -> ImportJob:
    job.header = list(header)
    job.total_rows, job.created, job.updated, job.unchanged = total, created, updated, unchanged
    job.rejected = errors.count
    job.errors = [error.as_dict() for error in sorted(errors.errors, key=lambda e: e.line)]
    job.rejected_rows = [
        {"line": line, "values": values} for line, values in sorted(errors.rejected_rows.items())
    ]
    job.status = ImportJob.Status.DONE
    job.message = message
    job.finished_at = timezone.now()
    job.save()
    return job


def job_fail(job: ImportJob, message: str, *, header: list[str] | None = None) -> ImportJob:
    job.status = ImportJob.Status.FAILED
    job.message = message
    job.header = list(header or [])
    job.finished_at = timezone.now()
    job.save()
    return job


def rejected_rows_csv(job: ImportJob) -> str:
    """The rejected rows as they were in the file plus `line` and `error`, for fixing and re-upload.

    Starts with a BOM so Excel opens the Chinese text correctly."""
    reasons: dict[int, list[str]] = {}
    for error in job.errors:
        text = f"{error['column']}: {error['reason']}" if error.get("column") else error["reason"]
        reasons.setdefault(error["line"], []).append(text)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*job.header, "line", "error"])
    width = len(job.header)
    for row in job.rejected_rows:
        values = list(row["values"][:width]) + [""] * (width - len(row["values"][:width]))
        writer.writerow([*values, row["line"], "; ".join(reasons.get(row["line"], []))])
    return "\ufeff" + buffer.getvalue()


# --- writing ---------------------------------------------------------------------------------


def _safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_table(out: IO, *, fmt: str, header: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Write rows to `out` as CSV (UTF-8 with BOM, text or binary stream) or XLSX (binary stream).

    `rows` is streamed: pass `queryset.values_list(...).iterator(chunk_size=CHUNK_SIZE)` (mapped
    as needed). Text that Excel would evaluate as a formula gets a leading quote, which
    read_table removes again. Returns the number of data rows written."""
    if fmt == "csv":
        return _write_csv(out, header, rows)
    if fmt == "xlsx":
        return _write_xlsx(out, header, rows)
    raise ValueError(f"unknown export format {fmt!r}")


def _write_csv(out: IO, header, rows) -> int:
    binary = not isinstance(out, io.TextIOBase) and "b" in getattr(out, "mode", "b")
    text = (
        io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True) if binary else out
    )
    text.write("\ufeff")
    writer = csv.writer(text)
    writer.writerow(header)
    count = 0
    for chunk in chunked(rows, CHUNK_SIZE):
        writer.writerows(
            [_safe(value) if value is not None else "" for value in row] for row in chunk
        )
        count += len(chunk)
    if binary:
        text.flush()
        text.detach()  # leave the caller's stream open
    return count


def _write_xlsx(out: IO, header, rows) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(header))
    count = 0
    for row in rows:
        sheet.append([_safe(value) for value in row])
        count += 1
    workbook.save(out)
    return count


def run_import(
    *, kind: str, actor, source, filename: str, aliases: dict, required, body
) -> ImportJob:
    """The life of one import job: start it, open the file, run `body(job, table)` and close the
    job whatever happens. An unusable file fails the job with its reason and writes nothing."""
    from .jobs import lease
    from .scope import operator_or_actor_path

    job = job_start(
        kind=kind,
        filename=filename or str(source),
        actor=actor,
        jurisdiction_path=operator_or_actor_path(actor) or "",
    )
    with lease(job):
        try:
            table = read_table(source, filename=filename, aliases=aliases, required=required)
        except ImportFileError as exc:
            return job_fail(job, str(exc))
        try:
            with table:
                return body(job, table)
        except ImportFileError as exc:
            return job_fail(job, str(exc), header=table.header)
        except Exception as exc:
            job_fail(job, f"{type(exc).__name__}: {exc}", header=table.header)
            raise
