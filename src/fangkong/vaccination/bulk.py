"""The vaccination system's file of doses, imported set-based and streamed: 25 million rows in
bounded memory.

The file is read in blocks of about 256 MiB (whole lines, never inside a quoted field), each
parsed and checked as Arrow columns by testing's engine, so memory follows the block, not the
file (the one-piece version reached 17.5 GB at 25 million doses). A city-sized file is matched
against the whole registry, read once beside the parsing and kept as sorted integer keys (one
binary search per dose); a small one by indexed lookups. Repeats are found across blocks (one bit
per person and dose number), lots registered once per (product, lot), and each block's good rows
go in by binary COPY: into the empty table with its unique key rebuilt after, or through a
staging table and INSERT … ON CONFLICT DO NOTHING, so a re-import changes nothing. SQLite (tests,
the demo) takes the same path with executemany. The coverage counters are then built from the
registry in memory (first load) or refreshed in SQL for the grids touched.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common.imports import (
    Rejected,
    job_broken,
    job_fail,
    job_finish,
    job_start,
    max_stored_errors,
    reason,
)
from fangkong.common.models import ImportJob
from fangkong.common.scope import operator_or_actor_path, require
from fangkong.geo.models import Jurisdiction
from fangkong.testing import engine
from fangkong.testing.engine import FileError, timed

from . import coverage, roles, schedule
from .models import AgeBand, Lot, Product, Site

COLUMNS = ["id_number", "product_code", "lot", "dose_number", "given_at", "site_code"]
# Header cells as the vaccination system (and Chinese Excel) names them.
ALIASES = {
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "证件号码": "id_number",
    "document_number": "id_number",
    "疫苗编码": "product_code",
    "疫苗代码": "product_code",
    "product": "product_code",
    "批号": "lot",
    "疫苗批号": "lot",
    "剂次": "dose_number",
    "dose": "dose_number",
    "接种时间": "given_at",
    "接种日期": "given_at",
    "接种点编码": "site_code",
    "接种单位编码": "site_code",
    "site": "site_code",
}
LOT_MAX = Lot._meta.get_field("code").max_length
MAX_DOSE = 9
REGISTRY_COLUMNS = [("id", pa.int64()), ("grid_id", pa.int64())]
PREFETCH_ROWS = 100_000
TIMINGS = engine.TIMINGS
UTC8 = 8 * 3600 * 1_000_000  # Asia/Shanghai has kept UTC+8 all year since 1991


def _np(column) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False)


def _pg() -> bool:
    return connection.vendor == "postgresql"


def import_doses(*, actor, source, filename: str) -> ImportJob:
    """Import a file of doses (CSV: id_number, product_code, lot, dose_number, given_at,
    site_code). Every bad row is kept with its line and reason; the good ones go in."""
    require(actor, roles.can_import_doses)
    job = job_start(
        actor=actor,
        kind="vaccination_doses",
        filename=filename,
        jurisdiction_path=operator_or_actor_path(actor) or "",
    )
    TIMINGS.clear()
    try:
        with transaction.atomic():
            if _pg():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL work_mem = '1GB'")
                    cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
                    cursor.execute("SET LOCAL synchronous_commit = off")
            result = _import(actor, source)
            job = job_finish(job, errors=result.pop("rejected"), **result)
            audit_record(
                actor=actor,
                action=Action.IMPORT,
                obj=job,
                jurisdiction_path=job.jurisdiction_path,
                object_repr=f"{job.kind} {job.filename}",
                changes={
                    "total": job.total_rows,
                    "created": job.created,
                    "unchanged": job.unchanged,
                    "rejected": job.rejected,
                },
            )
    except FileError as exc:
        return job_fail(job, str(exc))
    except Exception as exc:
        job_broken(job, exc)
        raise
    return job


def _aliased(head: bytes) -> bytes:
    """The header line with the vaccination system's Chinese names mapped to the columns, and
    unquoted: a quote anywhere in a block sends it to the slow reader that quoted fields need."""
    first = head.decode("utf-8", "replace").rstrip("\r\n")
    names = [c.strip() for c in next(csv.reader([first]), [])]
    mapped = [ALIASES.get(c.lower().replace(" ", "_"), ALIASES.get(c, c)) for c in names]
    if any("," in c or '"' in c or "\n" in c for c in mapped):
        return head
    return ",".join(mapped).encode() + b"\n"


def _blocks(source, size: int) -> Iterator[bytes]:
    """The file in blocks of about `size` bytes, each ending at the end of a line and never inside
    a quoted field: 25 million doses are 2 GB of text, read and parsed block by block."""
    if isinstance(source, str):
        source = source.encode()
    read = io.BytesIO(bytes(source)).read if isinstance(source, bytes | bytearray) else source.read
    buf = b""
    while True:
        part = read(size)
        if isinstance(part, str):
            part = part.encode()
        if not part:
            if buf:
                yield buf
            return
        buf += part
        cut = _line_end(buf)
        if cut > 0:
            yield buf[:cut]
            buf = buf[cut:]


def _line_end(buf: bytes) -> int:
    """Just past the last newline of `buf` outside quotes (an even count of quotes before it:
    an escaped quote is two); 0 when there is none yet."""
    cut = buf.rfind(b"\n") + 1
    if b'"' not in buf:
        return cut
    while cut > 0 and buf.count(b'"', 0, cut) % 2:
        cut = buf.rfind(b"\n", 0, cut - 1) + 1
    return cut


def _per_distinct(texts: pa.Array, convert) -> np.ndarray:
    """`convert` (texts -> numpy) applied to each distinct text once: a file of 25 million doses
    has a few thousand distinct times and a handful of dose numbers."""
    encoded = pc.dictionary_encode(texts)
    values = convert(encoded.dictionary)
    return values[_np(encoded.indices)] if len(texts) else values[:0]


def _times(texts: pa.Array) -> np.ndarray:
    """Unix microseconds of 'YYYY-MM-DD HH:MM[:SS]' or 'YYYY-MM-DD' (local time); -1 where
    malformed."""
    texts = pc.replace_substring(texts, "T", " ")
    out = None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        parsed = pc.strptime(texts, format=fmt, unit="s", error_is_null=True)
        out = parsed if out is None else pc.coalesce(out, parsed)
    seconds = _np(pc.fill_null(out.cast(pa.int64()), -(10**12)))
    micros = seconds * 1_000_000 - UTC8
    return np.where(seconds == -(10**12), -1, micros)


def _birth_days_sql() -> str:
    if _pg():
        return "(birth_date - DATE '1970-01-01')"
    return "CAST(julianday(birth_date) - 2440587.5 AS INTEGER)"


class Registry:
    """The whole registry in memory for a city-sized file: ID numbers as sorted integers (one
    binary search per dose, no string hashing), each person's id, grid and birth day, and one
    bit per dose number seen in this file (repeats across blocks)."""

    def __init__(self, table: pa.Table):
        names = table.column(0).combine_chunks()
        self.person_id = _np(table.column(1).combine_chunks()).astype(np.int64)
        self.grid_id = _np(table.column(2).combine_chunks()).astype(np.int64)
        self.birth_day = _np(table.column(3).combine_chunks()).astype(np.int64)
        del table
        n = len(names)
        keys = engine.id_keys(names)  # everyone with a resident ID number: no regex pass
        if keys is not None:
            shaped = np.ones(n, dtype=bool)
        else:
            shaped = _np(pc.match_substring_regex(names, r"^[0-9]{17}[0-9X]$")).astype(bool)
            keys = engine.id_keys(names.filter(pa.array(shaped)))
        self.rows = np.flatnonzero(shaped)
        order = np.argsort(keys, kind="stable")
        self.keys, self.rows = keys[order], self.rows[order]
        # Passports and other documents: few, matched by hashing.
        self.other_rows = np.flatnonzero(~shaped)
        self.other = names.take(pa.array(self.other_rows)) if len(self.other_rows) else None
        self.seen = np.zeros(n, dtype=np.uint16)
        self.last_dose = np.zeros(n, dtype=np.int8)
        # The product of each person's course: of dose 1, else the lowest product id given.
        self.product_of_one = np.zeros(n, dtype=np.int64)
        self.lowest_product = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)

    def find(self, numbers: pa.Array) -> np.ndarray:
        """Each number's registry row, -1 where nobody has it."""
        at = np.full(len(numbers), -1, dtype=np.int64)
        if not len(numbers):
            return at
        wanted = engine.id_keys(numbers)  # every number an ID number: no regex pass
        if wanted is not None:
            shaped = np.ones(len(numbers), dtype=bool)
        else:
            shaped = _np(pc.match_substring_regex(numbers, r"^[0-9]{17}[0-9X]$")).astype(bool)
        which = np.flatnonzero(shaped)
        if len(which) and len(self.keys):
            if wanted is None:
                wanted = engine.id_keys(numbers.filter(pa.array(shaped)))
            # Needles sorted too: each binary search starts where the last ended (cache).
            needles = np.argsort(wanted)
            pos = np.minimum(np.searchsorted(self.keys, wanted[needles]), len(self.keys) - 1)
            hit = self.keys[pos] == wanted[needles]
            at[which[needles]] = np.where(hit, self.rows[pos], -1)
        rest = np.flatnonzero(~shaped)
        if len(rest) and self.other is not None:
            found = _np(
                pc.fill_null(pc.index_in(numbers.take(pa.array(rest)), value_set=self.other), -1)
            ).astype(np.int64)
            at[rest] = np.where(found >= 0, self.other_rows[np.maximum(found, 0)], -1)
        return at

    def repeats(self, row: np.ndarray, dose: np.ndarray) -> np.ndarray:
        """Which of these (registry row, dose) pairs an earlier line of the file (or of this
        block) already named; the others are marked seen."""
        key = row * (MAX_DOSE + 1) + dose
        _u, first = np.unique(key, return_index=True)
        repeat = np.ones(len(key), dtype=bool)
        repeat[first] = False
        bit = (np.uint16(1) << dose.astype(np.uint16)).astype(np.uint16)
        repeat |= (self.seen[row] & bit) != 0
        new = ~repeat
        np.bitwise_or.at(self.seen, row[new], bit[new])
        return repeat

    def given(self, row: np.ndarray, dose: np.ndarray, product_id: np.ndarray) -> None:
        """Doses stored: each person's highest dose and course product, for the counters."""
        np.maximum.at(self.last_dose, row, dose.astype(np.int8))
        one = dose == 1
        self.product_of_one[row[one]] = product_id[one]
        np.minimum.at(self.lowest_product, row, product_id)


class Seen:
    """Repeats across blocks when the registry is looked up by index (small files): the
    (person, dose) keys seen so far, sorted."""

    def __init__(self):
        self.keys = np.zeros(0, dtype=np.int64)

    def repeats(self, person_id: np.ndarray, dose: np.ndarray) -> np.ndarray:
        key = person_id * (MAX_DOSE + 1) + dose
        _u, first = np.unique(key, return_index=True)
        repeat = np.ones(len(key), dtype=bool)
        repeat[first] = False
        repeat |= np.isin(key, self.keys)
        self.keys = np.union1d(self.keys, key[~repeat])
        return repeat


BLOCK_BYTES = 1 << 27  # 128 MiB of file (about 1.9 million doses) parsed at a time


def _import(actor, source) -> dict:
    blocks = _blocks(source, BLOCK_BYTES)
    first_block = next(blocks, b"").removeprefix(b"\xef\xbb\xbf")
    end = first_block.find(b"\n")
    head = _aliased(first_block if end < 0 else first_block[: end + 1])
    if not head.endswith(b"\n"):
        head += b"\n"
    body = b"" if end < 0 else first_block[end + 1 :]
    del first_block
    following = next(blocks, None)
    whole = _pg() and (following is not None or body.count(b"\n") >= PREFETCH_ROWS)
    fetch = _registry_fetch() if whole or WHOLE_REGISTRY_ALWAYS else None
    run = _Run(actor, fetch)
    try:
        line = 0
        while body is not None:
            run.block(head + body, line)
            line += body.count(b"\n")
            body, following = following, (next(blocks, None) if following is not None else None)
        return run.finish()
    finally:
        run.close()


# Tests set it to take the whole-registry path (and the counters built in memory) on SQLite.
WHOLE_REGISTRY_ALWAYS = False


class _Fetched:
    """The registry read at once (SQLite: one connection, no thread beside it)."""

    def __init__(self, table: pa.Table):
        self.table = table

    def get(self) -> pa.Table:
        return self.table


def _registry_fetch():
    """The registry read whole, on PostgreSQL on a connection of its own while the first block
    is parsed."""
    columns = [*REGISTRY_COLUMNS, (_birth_days_sql(), pa.int64())]
    if _pg():
        return engine.Prefetch("people_person", "document_number", columns)
    return _Fetched(engine.fetch_all("people_person", [("document_number", pa.string()), *columns]))


class _Run:
    """One import, block by block: the checks, the registry match, the repeats, the lots and the
    COPY of each block's good rows; counters and the report at the end."""

    def __init__(self, actor, fetch: engine.Prefetch | None):
        self.actor = actor
        self.fetch = fetch
        self.registry: Registry | None = None
        self.seen = Seen()
        self.products = {p.code.upper(): p for p in Product.objects.all()}
        self.product_codes = pa.array(list(self.products), pa.string())
        self.product_ids = np.array([p.pk for p in self.products.values()] or [0], dtype=np.int64)
        self.primary = {p.pk: p.primary_doses for p in self.products.values()}
        sites = dict(Site.objects.values_list("code", "id"))
        self.site_codes = pa.array(list(sites), pa.string())
        self.site_ids = np.array(list(sites.values()) or [0], dtype=np.int64)
        self.inside = _grids_inside_set(actor)
        self.lots: dict[tuple[int, str], int] = {}
        self.now_us = int(timezone.now().timestamp() * 1_000_000)
        self.total = self.created = 0
        self.rejected_count = 0
        self.kept_errors: list[dict] = []
        self.kept_rows: list[dict] = []
        self.touched: set[int] = set()
        self.store: _Store | None = None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def _registry(self) -> Registry:
        if self.registry is None:
            with timed("registry read"):
                self.registry = Registry(self.fetch.get())
            self.fetch = None
        return self.registry

    def block(self, data: bytes, line_offset: int) -> None:
        with timed("parse"):
            parsed = engine.read_csv(data, COLUMNS, [])
        del data
        parsed.lines = parsed.lines + line_offset
        parsed.short = [(line + line_offset, text) for line, text in parsed.short]
        n = len(parsed)
        cols = parsed.columns
        errors = engine.Errors(n)
        with timed("check"):
            number = pc.utf8_upper(cols["id_number"])
            errors.add(_np(pc.equal(number, "")), "id_number", reason("empty"))
            at = _np(
                pc.fill_null(
                    pc.index_in(pc.utf8_upper(cols["product_code"]), value_set=self.product_codes),
                    -1,
                )
            )
            errors.add(at < 0, "product_code", reason("no such vaccine product"))
            product_id = np.where(at >= 0, self.product_ids[np.maximum(at, 0)], 0)
            lot_len = _np(pc.utf8_length(cols["lot"]))
            errors.add(lot_len == 0, "lot", reason("empty"))
            errors.add(
                lot_len > LOT_MAX, "lot", reason("longer than %(n)s characters") % {"n": LOT_MAX}
            )
            dose = _per_distinct(cols["dose_number"], lambda t: _np(_dose_numbers(t)))
            errors.add(
                (dose < 1) | (dose > MAX_DOSE),
                "dose_number",
                _("must be a whole number from 1 to %(n)s") % {"n": MAX_DOSE},
            )
            micros = _per_distinct(cols["given_at"], _times)
            errors.add(micros < 0, "given_at", reason("not a time YYYY-MM-DD HH:MM:SS"))
            errors.add(micros > self.now_us + 3600 * 1_000_000, "given_at", reason("in the future"))
            sat = _np(pc.fill_null(pc.index_in(cols["site_code"], value_set=self.site_codes), -1))
            errors.add(sat < 0, "site_code", reason("no such vaccination site"))
            site_id = np.where(sat >= 0, self.site_ids[np.maximum(sat, 0)], 0)
        with timed("registry"):
            if self.fetch is not None or self.registry is not None:
                registry = self._registry()
                row = registry.find(number)
                person_id = np.where(row >= 0, registry.person_id[np.maximum(row, 0)], 0)
                grid_id = np.where(row >= 0, registry.grid_id[np.maximum(row, 0)], 0)
            else:
                row, people, _whole = engine.lookup(
                    number,
                    table="people_person",
                    key="document_number",
                    columns=REGISTRY_COLUMNS,
                )
                person_id = _take(people, "id", row)
                grid_id = _take(people, "grid_id", row)
            del number
            inside = (
                np.ones(len(grid_id), dtype=bool)
                if self.inside is None
                else np.isin(grid_id, self.inside)
            )
            # Outside the importer's subtree and not registered read the same: no leak.
            errors.add(
                (row < 0) | ~inside, "id_number", _("nobody in your jurisdiction has this number")
            )
        with timed("repeats"):
            good = np.flatnonzero(errors.good)
            if self.registry is not None:
                repeat = self.registry.repeats(row[good], dose[good])
            else:
                repeat = self.seen.repeats(person_id[good], dose[good])
            errors.set_rows(good[repeat], "dose_number", _("the file names this dose twice"))
        good = np.flatnonzero(errors.good)
        with timed("lots"):
            lot_id = self._lots(product_id[good], cols["lot"].take(pa.array(good)))
        with timed("doses"):
            if self.store is None:
                self.store = _Store()
            self.store.write(
                person_id[good], product_id[good], lot_id, dose[good], site_id[good], micros[good]
            )
        if self.registry is not None:
            self.registry.given(row[good], dose[good], product_id[good])
        self.touched.update(np.unique(grid_id[good]).tolist())
        with timed("rejected"):
            keep = max(max_stored_errors() - len(self.kept_rows), 0)
            rejected = engine.collect(parsed, errors, keep)
        self.rejected_count += rejected.count
        self.kept_errors += rejected.errors
        self.kept_rows += rejected.rows
        self.total += n + len(parsed.short)

    def _lots(self, product_id: np.ndarray, lots: pa.Array) -> np.ndarray:
        """Each row's lot id, registering the (product, lot) pairs not seen before. Pairs are
        integers (product id × distinct lot texts + lot's index), never millions of strings."""
        if not len(product_id):
            return np.zeros(0, dtype=np.int64)
        encoded = pc.dictionary_encode(lots)
        texts = encoded.dictionary.to_pylist()
        pair = product_id.astype(np.int64) * len(texts) + _np(encoded.indices).astype(np.int64)
        distinct, row_pair = np.unique(pair, return_inverse=True)
        wanted = [(int(p) // len(texts), texts[int(p) % len(texts)]) for p in distinct]
        new = [w for w in wanted if w not in self.lots]
        if new:
            Lot.objects.bulk_create(
                [Lot(product_id=p, code=code) for p, code in new],
                ignore_conflicts=True,
                batch_size=1000,
            )
            for product in {p for p, _c in new}:
                codes = [c for p, c in new if p == product]
                for start in range(0, len(codes), 500):
                    for pk, code in Lot.objects.filter(
                        product_id=product, code__in=codes[start : start + 500]
                    ).values_list("id", "code"):
                        self.lots[(product, code)] = pk
        ids = np.array([self.lots[w] for w in wanted], dtype=np.int64)
        return ids[row_pair.reshape(-1)]

    def finish(self) -> dict:
        if self.fetch is not None:
            self._registry()  # an empty file: the registry's thread is still joined
        created = self.store.finish() if self.store is not None else 0
        with timed("coverage"):
            if self.registry is not None and self.store is not None and self.store.empty:
                # Every dose on file came in with this import: the counters straight from the
                # registry in memory, no scan of 25 million doses.
                _counters_from(self.registry, self.primary)
            elif self.touched:
                many = len(self.touched) > coverage.WHOLE_REFRESH_GRIDS
                coverage.refresh(grid_ids=None if many else sorted(self.touched))
        kept = self.total - self.rejected_count
        rejected = Rejected(
            self.rejected_count,
            self.kept_errors,
            self.kept_rows,
            truncated=self.rejected_count > len(self.kept_rows),
        )
        return {
            "header": list(COLUMNS),
            "columns": list(COLUMNS),
            "total": self.total,
            "created": created,
            "updated": 0,
            "unchanged": kept - created,
            "rejected": rejected,
            "message": _(
                "%(created)s doses recorded, %(unchanged)s already known, "
                "%(rejected)s rows rejected"
            )
            % {"created": created, "unchanged": kept - created, "rejected": rejected.count},
        }


def _counters_from(registry: Registry, primary: dict[int, int], day: dt.date | None = None):
    """The coverage counters of every grid rebuilt from the registry and the doses in memory,
    as coverage.refresh computes them in SQL (same bands, same course rule)."""
    day = day or timezone.localdate()
    epoch = dt.date(1970, 1, 1)
    band = np.full(len(registry.grid_id), int(AgeBand.UNDER_THREE), dtype=np.int64)
    for b, cutoff in reversed(schedule.band_cutoffs(day)):
        band[registry.birth_day <= (cutoff - epoch).days] = b
    n = registry.last_dose.astype(np.int64)
    course = np.where(registry.product_of_one > 0, registry.product_of_one, registry.lowest_product)
    ids = np.array(list(primary) or [0], dtype=np.int64)
    doses = np.array(list(primary.values()) or [1], dtype=np.int64)
    order = np.argsort(ids)
    pos = np.minimum(np.searchsorted(ids[order], course), len(ids) - 1)
    need = np.where((n > 0) & (ids[order][pos] == course), doses[order][pos], 1 << 20)
    grids, grid_at = np.unique(registry.grid_id, return_inverse=True)
    bands = len(AgeBand.values)
    group = grid_at.reshape(-1) * bands + band
    size = len(grids) * bands
    counts = {
        "population": np.bincount(group, minlength=size),
        "first": np.bincount(group, weights=n >= 1, minlength=size),
        "full": np.bincount(group, weights=n >= need, minlength=size),
        "booster": np.bincount(group, weights=n >= need + 1, minlength=size),
        "booster2": np.bincount(group, weights=n >= need + 2, minlength=size),
    }
    present = np.flatnonzero(counts["population"])
    paths = dict(Jurisdiction.objects.filter(id__in=grids.tolist()).values_list("id", "path"))
    grid_of = grids[present // bands]
    table = pa.table(
        {
            "grid_id": pa.array(grid_of, pa.int64()),
            "jpath": pa.array([paths.get(int(g), "") for g in grid_of], pa.string()),
            "band": pa.array(present % bands, pa.int64()),
            **{
                name: pa.array(values[present].astype(np.int64), pa.int64())
                for name, values in counts.items()
            },
            "as_of": pa.array([day] * len(present), pa.date32()),
        }
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM vaccination_gridcoverage")
        engine.copy_rows(
            "vaccination_gridcoverage",
            [
                "grid_id",
                "jpath",
                "band",
                "population",
                "first",
                '"full"',
                "booster",
                "booster2",
                "as_of",
            ],
            table,
        )


def _dose_numbers(texts: pa.Array) -> pa.Array:
    """Each cell as a whole number, -1 where it is not one (one or two digits)."""
    ok = pc.match_substring_regex(texts, r"^[0-9]{1,2}$")
    return pc.if_else(ok, pc.cast(pc.if_else(ok, texts, "0"), pa.int64()), -1)


def _take(table: pa.Table, name: str, at: np.ndarray) -> np.ndarray:
    if not table.num_rows:
        return np.zeros(len(at), dtype=np.int64)
    values = _np(table.column(name).combine_chunks())
    return np.where(at >= 0, values[np.maximum(at, 0)], 0)


def _grids_inside_set(actor) -> np.ndarray | None:
    """The grid ids of the importer's subtree; None: every grid."""
    prefix = operator_or_actor_path(actor)
    if prefix == "/":
        return None
    if prefix is None:
        return np.zeros(0, dtype=np.int64)
    return np.array(
        list(
            Jurisdiction.objects.filter(path__startswith=prefix, level="grid").values_list(
                "id", flat=True
            )
        ),
        dtype=np.int64,
    )


DOSE_COLUMNS = [
    "person_id",
    "product_id",
    "lot_id",
    "dose_number",
    "site_id",
    "given_at",
    "source",
]


def _count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM vaccination_dose")
    return cursor.fetchone()[0]


class _Store:
    """Where each block's good rows go. An empty table (the first load of a city): straight in
    by binary COPY, the unique key set aside and built from one sort at the end (the file is
    free of repeats, checked above). Otherwise into a staging table, then one INSERT … ON
    CONFLICT DO NOTHING, so a re-import changes nothing. SQLite: executemany."""

    def __init__(self):
        self.count = 0
        self._aside = None
        with connection.cursor() as cursor:
            if not _pg():
                self.before = _count(cursor)
                self.empty = self.before == 0
                return
            # Nothing recorded at a site between this look and the last COPY: the empty path
            # and the counters built in memory rely on it.
            cursor.execute("LOCK TABLE vaccination_dose IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute("SELECT EXISTS (SELECT 1 FROM vaccination_dose)")
            self.empty = not cursor.fetchone()[0]
            if not self.empty:
                cursor.execute("DROP TABLE IF EXISTS vacc_stage")
                cursor.execute(
                    "CREATE TEMP TABLE vacc_stage (person_id bigint, product_id bigint, "
                    "lot_id bigint, dose_number smallint, site_id bigint, given_at timestamptz, "
                    "source varchar(8)) ON COMMIT DROP"
                )
        if self.empty:
            self._aside = engine.indexes_set_aside("vaccination_dose")
            self._aside.__enter__()

    def write(self, person_id, product_id, lot_id, dose, site_id, micros) -> None:
        if not len(person_id):
            return
        if not _pg():
            rows = [
                (p, pr, lot, d, s, dt.datetime.fromtimestamp(m / 1e6, dt.UTC), "import")
                for p, pr, lot, d, s, m in zip(
                    person_id.tolist(),
                    product_id.tolist(),
                    lot_id.tolist(),
                    dose.tolist(),
                    site_id.tolist(),
                    micros.tolist(),
                    strict=True,
                )
            ]
            adapt = connection.ops.adapt_datetimefield_value
            rows = [(*r[:5], adapt(r[5]), r[6]) for r in rows]
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO vaccination_dose ({', '.join(DOSE_COLUMNS)}) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (person_id, dose_number) DO NOTHING",
                    rows,
                )
            return
        fields = [
            ("int8", person_id),
            ("int8", product_id),
            ("int8", lot_id),
            ("int2", dose),
            ("int8", site_id),
            ("timestamptz", micros),
            ("text:import", None),
        ]
        copy_binary("vaccination_dose" if self.empty else "vacc_stage", DOSE_COLUMNS, fields)
        self.count += len(person_id)

    def finish(self) -> int:
        """Returns how many doses were stored."""
        with connection.cursor() as cursor:
            if not _pg():
                return _count(cursor) - self.before
            if self.empty:
                aside, self._aside = self._aside, None
                aside.__exit__(None, None, None)
                return self.count
            cursor.execute("ANALYZE vacc_stage")
            cols = ", ".join(DOSE_COLUMNS)
            cursor.execute(
                f"INSERT INTO vaccination_dose ({cols}) SELECT {cols} FROM vacc_stage "
                "ON CONFLICT (person_id, dose_number) DO NOTHING"
            )
            return cursor.rowcount

    def close(self) -> None:
        # After a failure the transaction rolls back, dropped key included: nothing to rebuild.
        self._aside = None


PG_EPOCH_US = engine.PG_EPOCH_US


def copy_binary(table: str, columns: list[str], fields: list[tuple[str, object]]) -> None:
    """testing's binary COPY writer (dose numbers are its int2 columns), timed for the report."""
    started = time.perf_counter()
    engine.copy_binary(table, columns, fields)
    TIMINGS[f"copy {table}"] = TIMINGS.get(f"copy {table}", 0.0) + time.perf_counter() - started
