"""Bulk-import and export machinery shared by every app: read CSV/XLSX, collect row errors, finish jobs, write files."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .masking import mask_id_number, mask_phone
from .models import ImportJob

log = logging.getLogger(__name__)

CHUNK_SIZE = 5000
# Enough bytes to hold many rows of Chinese names, so the encoding guess is sound.
_SNIFF_BYTES = 1 << 20
# Cells Excel would run as a formula; exports prefix them with a quote (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class Reason(str):
    """A rejection reason that keeps what it was made from: its message id (the English source
    text, the key of the translation catalogs) and its parameters. It reads as the text in the
    language active when it was made, so the importers use it as any string; the job stores the
    text too (older readers and rows keep working) and beside it the id and parameters, which
    every display translates again into the reader's language (`reason_text`).

    Made like `gettext`: ``reason("longer than %(n)s characters") % {"n": 40}``."""

    msgid: str
    params: dict | None

    def __new__(cls, msgid: str, params: dict | None = None):
        text = _(msgid)
        if params:
            text = text % params
        made = super().__new__(cls, text)
        made.msgid, made.params = msgid, params
        return made

    def __mod__(self, params):
        if not isinstance(params, dict):
            return str(self) % params
        # Parameters go into the store as JSON: text for anything that is not a plain value.
        plain = {
            k: v if isinstance(v, int | float | str) and not isinstance(v, bool) else str(v)
            for k, v in params.items()
        }
        return Reason(self.msgid, plain)

    def __reduce__(self):
        return (Reason, (self.msgid, self.params))


def reason(msgid: str) -> Reason:
    """gettext for a rejection reason: the text now, its id and parameters for later."""
    return Reason(msgid)


def reason_fields(text: str, key: str = "reason") -> dict:
    """What an error entry stores of a reason: the text under `key`, and for a Reason its id and
    parameters under `key`_id and `key`_params."""
    entry = {key: str(text)}
    if isinstance(text, Reason):
        entry[f"{key}_id"] = text.msgid
        if text.params:
            entry[f"{key}_params"] = text.params
    return entry


def reason_text(error: dict, key: str = "reason") -> str:
    """A stored reason in the active language: translated again from its id and parameters
    when the entry has them, else the text stored at import time (older jobs)."""
    msgid = error.get(f"{key}_id")
    if not msgid:
        return error.get(key, "")
    params = error.get(f"{key}_params")
    try:
        return _(msgid) % params if params else _(msgid)
    except (KeyError, TypeError, ValueError):  # a catalog entry out of step with its id
        return error.get(key, "")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported: unreadable, no header, or required columns missing."""


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    value: str
    reason: str
    # A more precise reason that says something about people beyond the importer's reach (that
    # an ID number is registered elsewhere): shown only to roles that may see personal data.
    detail: str = ""

    def as_dict(self) -> dict:
        entry = {"line": self.line, "column": self.column, "value": self.value}
        entry.update(reason_fields(self.reason))
        if self.detail:
            entry.update(reason_fields(self.detail, "detail"))
        return entry

    def __str__(self) -> str:
        where = f"line {self.line}, {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.reason}"


def max_stored_errors() -> int:
    return settings.FANGKONG_IMPORT_MAX_STORED_ERRORS


@dataclass
class Rejected:
    """What a job stores of its rejected rows: every one counted, the first lines kept."""

    count: int
    errors: list[dict]  # [{"line", "column", "value", "reason"[, "detail"]}], in line order
    rows: list[dict]  # [{"line", "values"}], in line order
    truncated: bool


class RowErrors:
    """Counts every rejected line; keeps the first `limit` lines (by line number, whatever order
    they are rejected in) with their errors and original cells, so 5 million bad rows cost a
    bit each rather than 141 MB."""

    def __init__(self, limit: int | None = None):
        self.limit = max_stored_errors() if limit is None else limit
        self.count = 0
        self._kept: dict[int, tuple[list[str], list[RowError]]] = {}
        self._seen = bytearray()  # one bit per file line: a line rejected twice counts once
        self._cutoff: int | None = None  # lines after it are counted, not kept

    def _first_time(self, line: int) -> bool:
        byte, bit = divmod(line, 8)
        if byte >= len(self._seen):
            self._seen.extend(bytes(byte + 1 - len(self._seen) + len(self._seen) // 2))
        if self._seen[byte] & (1 << bit):
            return False
        self._seen[byte] |= 1 << bit
        return True

    def reject(self, line: int, values: Sequence[str], errors: Iterable[RowError]) -> None:
        if self._first_time(line):
            self.count += 1
        if self.limit <= 0 or (self._cutoff is not None and line > self._cutoff):
            return
        kept = self._kept.get(line)
        if kept is None:
            kept = self._kept[line] = (list(values), [])
        kept[1].extend(errors)
        if len(self._kept) >= 2 * self.limit:
            keep = sorted(self._kept)[: self.limit]
            self._cutoff = keep[-1]
            self._kept = {line: self._kept[line] for line in keep}

    def reject_one(
        self, line: int, values: Sequence[str], column: str, value, reason: str, detail: str = ""
    ) -> None:
        text = "" if value is None else str(value)
        self.reject(line, values, [RowError(line, column, text, reason, detail)])

    def is_rejected(self, line: int) -> bool:
        byte, bit = divmod(line, 8)
        return byte < len(self._seen) and bool(self._seen[byte] & (1 << bit))

    @property
    def errors(self) -> list[RowError]:
        return [error for line in sorted(self._kept) for error in self._kept[line][1]]

    def stored(self) -> Rejected:
        lines = sorted(self._kept)[: self.limit]
        # Every error of each kept line: a row in the download always has its reasons.
        errors = [error.as_dict() for line in lines for error in self._kept[line][1]]
        rows = [{"line": line, "values": self._kept[line][0]} for line in lines]
        return Rejected(self.count, errors, rows, truncated=self.count > len(lines))


# --- reading ---------------------------------------------------------------------------------


def normalize_header(cell: str) -> str:
    return cell.strip().lstrip("\ufeff").strip().lower().replace(" ", "_")


class Table:
    """A file opened for import. `columns` are the canonical names of `header`'s cells; each row
    of `rows` is (line, {column: value}) with values as stripped strings and cells beyond the
    header under the key None (the csv.DictReader convention).

    A line that cannot be read (bytes not in the file's encoding, a field past the CSV limit) is
    not a row: it goes to `errors` with its reason, so one bad line rejects that line alone and
    never stops the import half-way. `read` counts the lines read, those included."""

    def __init__(
        self, header: list[str], columns: list[str], cells, close: Callable = lambda: None
    ):
        self.header = header
        self.columns = columns
        self.errors = RowErrors()
        self.read = 0
        self.rows: Iterator[tuple[int, dict]] = self._rows(cells)
        self._close = close

    def _rows(self, cells) -> Iterator[tuple[int, dict]]:
        columns = self.columns
        width = len(columns)
        for line, values, problem in cells:
            if problem is not None:
                self.read += 1
                self.errors.reject_one(line, values, "", "", problem)
                continue
            if not any(values):
                continue
            self.read += 1
            row = dict(zip(columns, values[:width], strict=False))
            if len(values) < width:
                row.update(dict.fromkeys(columns[len(values) :], ""))
            elif len(values) > width and any(values[width:]):
                row[None] = values[width:]
            yield line, row

    def original(self, row: dict) -> list[str]:
        return [row.get(column, "") for column in self.columns] + list(row.get(None, []))

    def close(self) -> None:
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
    return Table(header, columns, cells, close)


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
    cells = ((line, [_cell(v) for v in values], None) for line, values in enumerate(rows, start=2))
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
        # Bytes the sniffed encoding cannot decode become lone surrogates, caught line by line
        # below: a file that turns to GB18030 after its first megabyte rejects those lines only.
        text = io.TextIOWrapper(
            io.BufferedReader(_Prefixed(head, source)),
            encoding=_sniff_encoding(head),
            errors=_UNDECODABLE,
            newline="",
        )
    clean = _undecodable_seen[0]
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        raise ImportFileError(_("the file has no header line"))
    if any(_UNREADABLE.search(cell) for cell in header):
        raise ImportFileError(_("the file is neither UTF-8 nor GB18030 text"))
    header = [cell.strip() for cell in header]
    while header and not header[-1]:
        header.pop()

    def cells():
        start = reader.line_num + 1
        while True:
            try:
                for values in reader:
                    values = [_text(v) for v in values]
                    # Rows are looked at only once the decoder has met bytes it could not
                    # decode: a clean file of a million rows pays nothing for this.
                    if _undecodable_seen[0] == clean or not _UNREADABLE.search("".join(values)):
                        # A quoted cell may span lines: the row is reported where it starts.
                        yield start, values, None
                    else:
                        values = [_UNREADABLE.sub("\ufffd", v) for v in values]
                        yield start, values, _undecoded_reason()
                    start = reader.line_num + 1
                return
            except csv.Error as exc:
                # The reader goes on with the next line; only this one is lost.
                yield start, [], reason("not valid CSV: %(error)s") % {"error": exc}
                start = reader.line_num + 1

    return header, cells(), lambda: None


# Bytes the file's encoding cannot decode become lone surrogates (as with surrogateescape), which
# valid text never holds; the handler also counts that it ran, so that only then rows are looked
# at. Another import's count moving only makes this one look at its rows too.
_UNDECODABLE = "fangkong.undecodable"
_UNREADABLE = re.compile("[\udc80-\udcff]")
_undecodable_seen = [0]


def _mark_undecodable(exc: UnicodeError):
    _undecodable_seen[0] += 1
    return codecs.lookup_error("surrogateescape")(exc)


codecs.register_error(_UNDECODABLE, _mark_undecodable)


def _undecoded_reason() -> str:
    return reason("the line cannot be decoded; save the file as UTF-8")


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


# --- jobs: one life for every importer ----------------------------------------------------


def job_start(
    *,
    kind: str,
    filename: str,
    actor,
    jurisdiction_path: str,
    mode: str = ImportJob.Mode.KEEP_GOOD,
) -> ImportJob:
    """The job row of an import: the one a worker claimed for it (common.jobs), else a new one,
    leased to this process so that the reaper fails it if the process is killed."""
    from .jobs import claimed_job, lease_fields

    claimed = claimed_job()
    if claimed is not None:
        if claimed.mode != mode:
            claimed.mode = mode
            claimed.save(update_fields=["mode"])
        return claimed
    return ImportJob.objects.create(
        kind=kind,
        filename=os.path.basename(str(filename))[:255],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        jurisdiction_path=jurisdiction_path,
        mode=mode,
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
    errors: RowErrors | Rejected,
    total: int,
    created: int,
    updated: int,
    unchanged: int,
    message: str = "",
    columns: list[str] | None = None,
) -> ImportJob:
    """Close a job that ran to its end: its counts, and its rejected rows in the one stored shape
    ({"line", "values"} under `header`, their errors beside them), the first
    FANGKONG_IMPORT_MAX_STORED_ERRORS lines of them; `columns` names the header's cells as the
    importer knows them (id_number for 身份证号), for masking."""
    kept = errors.stored() if isinstance(errors, RowErrors) else errors
    job.header = list(header)
    job.columns = list(columns if columns is not None else header)
    job.total_rows, job.created, job.updated, job.unchanged = total, created, updated, unchanged
    job.rejected = kept.count
    job.errors = kept.errors
    job.rejected_rows = kept.rows
    job.errors_truncated = kept.truncated
    job.status = ImportJob.Status.DONE
    job.message = message
    job.finished_at = timezone.now()
    job.save()
    return job


def job_fail(job: ImportJob, message: str, *, header: list[str] | None = None) -> ImportJob:
    """Close a job that could not run to its end; the counts saved by job_progress stay."""
    job.status = ImportJob.Status.FAILED
    job.message = message
    job.header = list(header or job.header or [])
    job.finished_at = timezone.now()
    job.save()
    return job


def job_broken(job: ImportJob, exc: BaseException, *, header: list[str] | None = None) -> ImportJob:
    """Fail a job on an unexpected error (a lost connection, a bug). The exception goes to the
    log, not to the job: its text may quote a row (a unique key's ID number) to any reader."""
    log.error("import job %s (%s) failed", job.pk, job.kind, exc_info=exc)
    saved = job.created + job.updated
    if saved:
        message = _(
            "the import stopped at an internal error after %(rows)s rows; the %(saved)s rows "
            "written before it are kept, and importing the same file again completes it"
        ) % {"rows": job.total_rows, "saved": saved}
    else:
        message = _("the import stopped at an internal error; nothing was written")
    return job_fail(job, message, header=header)


def run_import(
    *,
    kind: str,
    actor,
    source,
    filename: str,
    aliases: dict,
    required,
    body,
    mode: str = ImportJob.Mode.KEEP_GOOD,
) -> ImportJob:
    """The life of one import job: start it, open the file, run `body(job, table)` and close the
    job whatever happens. An unusable file fails the job with its reason and writes nothing; a
    line that cannot be read is a rejected row like any other (Table). `body` rejects rows into
    `table.errors`. In mode all_or_nothing one rejected row and nothing is written: the job
    fails, still listing every bad row."""
    from .jobs import lease
    from .scope import operator_or_actor_path

    job = job_start(
        kind=kind,
        filename=filename or str(source),
        actor=actor,
        jurisdiction_path=operator_or_actor_path(actor) or "",
        mode=mode,
    )
    with lease(job):
        try:
            table = read_table(source, filename=filename, aliases=aliases, required=required)
        except ImportFileError as exc:
            return job_fail(job, str(exc))
        try:
            with table:
                if mode != ImportJob.Mode.ALL_OR_NOTHING:
                    return body(job, table)
                with transaction.atomic():
                    job = body(job, table)
                    if job.rejected:
                        transaction.set_rollback(True)
                if job.rejected:
                    job.created = job.updated = job.unchanged = 0
                    return job_fail(
                        job,
                        _("%(rejected)s rows were rejected, so nothing was written")
                        % {"rejected": job.rejected},
                        header=table.header,
                    )
                return job
        except ImportFileError as exc:
            return job_fail(job, str(exc), header=table.header)
        except Exception as exc:
            job_broken(job, exc, header=table.header)
            raise


# --- what a reader sees of a job ----------------------------------------------------------

# Columns, as importers name them, that hold ID numbers or phones.
PII_COLUMNS: dict[str, Callable[[str], str]] = {
    "id_number": mask_id_number,
    "document_number": mask_id_number,
    "phone": mask_phone,
}
# An 18- or 15-digit resident ID, or a mainland mobile, anywhere in a cell the importer did not
# name as personal (a notes column, an unknown header, a job stored before columns were kept).
_PII_TEXT = re.compile(
    r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])|(?<!\d)(1\d{10})(?!\d)"
)


def _mask_text(text: str) -> str:
    return _PII_TEXT.sub(lambda m: mask_id_number(m[1]) if m[1] else mask_phone(m[2]), text)


def mask_cell(column: str, value):
    if not isinstance(value, str) or not value:
        return value
    masker = PII_COLUMNS.get(column)
    return masker(value) if masker else _mask_text(value)


def _job_columns(job: ImportJob) -> list[str]:
    if job.columns and len(job.columns) == len(job.header):
        return list(job.columns)
    return [normalize_header(cell) for cell in job.header]


def _may_see(actor) -> bool:
    from fangkong.accounts.roles import can_see_pii

    return actor is None or can_see_pii(actor)


def _shown_error(error: dict, unmasked: bool) -> dict:
    reason = (reason_text(error, "detail") if unmasked else "") or reason_text(error)
    column = error.get("column", "")
    value = error.get("value")
    if not unmasked:
        value, reason = mask_cell(column, value), _mask_text(reason)
    return {"line": error.get("line"), "column": column, "value": value, "reason": reason}


def _stored_rows(job: ImportJob) -> Iterator[tuple[int, list[str]]]:
    for row in job.rejected_rows:
        if "values" in row:
            yield row["line"], list(row["values"])
        else:  # {"line", "raw", "reason"}, as the mass-testing importer once stored them
            yield row["line"], next(csv.reader([row.get("raw") or ""]), [])


def _audit_view(actor, job: ImportJob, *, view: str, fields: list[str], rows: int, unmasked: bool):
    from fangkong.audit.models import Action
    from fangkong.audit.services import audit_record

    audit_record(
        actor=actor,
        action=Action.VIEW_PII if view == "errors" else Action.EXPORT,
        obj=job,
        object_repr=f"{job.kind} {job.filename}",
        jurisdiction_path=job.jurisdiction_path,
        changes={"view": view, "fields": fields, "rows": rows, "unmasked": unmasked},
    )


def job_errors(*, actor, job: ImportJob) -> list[dict]:
    """The job's stored errors as `actor` may see them: ID numbers and phones masked for roles
    without the right, and the reasons that speak of people elsewhere made neutral. Every view
    of a non-empty list is one audit entry. `actor` None is the operator."""
    unmasked = _may_see(actor)
    errors = [_shown_error(error, unmasked) for error in job.errors]
    if errors:
        _audit_view(
            actor,
            job,
            view="errors",
            fields=["line", "column", "value", "reason"],
            rows=len({error["line"] for error in errors}),
            unmasked=unmasked,
        )
    return errors


def error_reasons(job: ImportJob) -> list[dict]:
    """The job's stored errors as line, column and reason in the reader's language, for a page
    or a command that shows why lines were refused (no cell values, no details about people
    elsewhere: nothing to mask or audit)."""
    return [
        {"line": e.get("line"), "column": e.get("column", ""), "reason": reason_text(e)}
        for e in job.errors
    ]


def job_rejected_csv(*, actor, job: ImportJob) -> str:
    """The rejected rows as they were in the file plus `line` and `error`, to fix and re-upload:
    UTF-8 with BOM (Excel), every cell safe from formula evaluation, personal columns masked for
    roles without the right, and one audit entry. `actor` None is the operator."""
    unmasked = _may_see(actor)
    reasons: dict[int, list[str]] = {}
    for error in job.errors:
        shown = _shown_error(error, unmasked)
        text = f"{shown['column']}: {shown['reason']}" if shown["column"] else shown["reason"]
        reasons.setdefault(shown["line"], []).append(text)
    for row in job.rejected_rows:  # the old mass-testing shape carries its reason in the row
        if "values" not in row and row["line"] not in reasons:
            reasons[row["line"]] = [row.get("reason", "")]
    header = list(job.header)
    if not header:  # a mass-testing job stored before it kept its header
        widest = max((len(values) for _line, values in _stored_rows(job)), default=0)
        header = [f"column_{i}" for i in range(1, widest + 1)]
    columns = _job_columns(job) if job.header else header
    width = len(header)

    def rows():
        for line, values in _stored_rows(job):
            values = values[:width] + [""] * (width - len(values[:width]))
            if not unmasked:
                values = [mask_cell(c, v) for c, v in zip(columns, values, strict=True)]
            yield [*values, line, "; ".join(reasons.get(line, []))]

    out = io.StringIO()
    count = write_table(out, fmt="csv", header=[*map(_safe, header), "line", "error"], rows=rows())
    _audit_view(actor, job, view="rejected_csv", fields=columns, rows=count, unmasked=unmasked)
    return out.getvalue()


def rejected_rows_csv(job: ImportJob) -> str:
    """The operator's (unmasked) rejected-rows file, for the CLI and tests."""
    return job_rejected_csv(actor=None, job=job)


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
