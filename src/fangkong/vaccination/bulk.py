"""The vaccination system's file of doses, imported set-based: 25 million rows in one pass.

The file is parsed and checked as Arrow columns and matched to the registry with testing's engine
(one hash lookup of the ID numbers, the registry read beside the parsing on PostgreSQL), lots are
registered once per (product, lot), and the good rows go in by binary COPY (every dose column is
fixed-width) into the empty table with its unique key rebuilt after, or through a staging table
and INSERT … ON CONFLICT DO NOTHING otherwise, so a re-import of the same file changes nothing.
SQLite (tests, the demo) takes the same path with executemany. Then the touched grids' coverage
counters are rebuilt (coverage.refresh).
"""

from __future__ import annotations

import datetime as dt
import struct
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common.imports import job_broken, job_fail, job_finish, job_start, max_stored_errors
from fangkong.common.models import ImportJob
from fangkong.common.scope import operator_or_actor_path, require
from fangkong.geo.models import Jurisdiction
from fangkong.testing import engine
from fangkong.testing.engine import FileError, timed

from . import coverage, roles
from .models import Lot, Product, Site

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


def _aliased(data: bytes) -> bytes:
    """The header line with the vaccination system's Chinese names mapped to the columns."""
    data = bytes(data).removeprefix(b"\xef\xbb\xbf")
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).decode("utf-8", "replace").rstrip("\r")
    names = [c.strip() for c in first.split(",")]
    mapped = [ALIASES.get(c.lower().replace(" ", "_"), ALIASES.get(c, c)) for c in names]
    if mapped == names:
        return data
    head = ",".join(mapped).encode()
    return head if end < 0 else head + data[end:]


def _times(texts: pa.Array) -> np.ndarray:
    """Unix microseconds of 'YYYY-MM-DD HH:MM[:SS]' or 'YYYY-MM-DD' (local time); -1 where
    malformed. Vectorised: 25 million times do not go through Python one by one."""
    texts = pc.replace_substring(texts, "T", " ")
    out = None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        parsed = pc.strptime(texts, format=fmt, unit="s", error_is_null=True)
        out = parsed if out is None else pc.coalesce(out, parsed)
    seconds = _np(pc.fill_null(out.cast(pa.int64()), -(10**12)))
    micros = seconds * 1_000_000 - UTC8
    return np.where(seconds == -(10**12), -1, micros)


def _import(actor, source) -> dict:
    data = source if isinstance(source, bytes) else source.read()
    if isinstance(data, str):
        data = data.encode()
    data = _aliased(data)
    registry = (
        engine.Prefetch("people_person", "document_number", REGISTRY_COLUMNS)
        if _pg() and data.count(b"\n") >= PREFETCH_ROWS
        else None
    )
    with timed("parse"):
        parsed = engine.read_csv(data, COLUMNS, [])
    del data
    n = len(parsed)
    cols = parsed.columns
    errors = engine.Errors(n)
    now_us = int(timezone.now().timestamp() * 1_000_000)
    with timed("check"):
        number = pc.utf8_upper(cols["id_number"])
        errors.add(_np(pc.equal(number, "")), "id_number", _("empty"))
        products = {p.code.upper(): p for p in Product.objects.all()}
        product_codes = pc.utf8_upper(cols["product_code"])
        codes = list(products)
        at = _np(
            pc.fill_null(pc.index_in(product_codes, value_set=pa.array(codes, pa.string())), -1)
        )
        errors.add(at < 0, "product_code", _("no such vaccine product"))
        product_ids = np.array([products[c].pk for c in codes] or [0], dtype=np.int64)
        product_id = np.where(at >= 0, product_ids[np.maximum(at, 0)], 0)
        lot_len = _np(pc.utf8_length(cols["lot"]))
        errors.add(lot_len == 0, "lot", _("empty"))
        errors.add(lot_len > LOT_MAX, "lot", _("longer than %(n)s characters") % {"n": LOT_MAX})
        dose_text = cols["dose_number"]
        dose = _np(_dose_numbers(dose_text))
        errors.add(
            (dose < 1) | (dose > MAX_DOSE),
            "dose_number",
            _("must be a whole number from 1 to %(n)s") % {"n": MAX_DOSE},
        )
        micros = _times(cols["given_at"])
        errors.add(micros < 0, "given_at", _("not a time YYYY-MM-DD HH:MM:SS"))
        errors.add(micros > now_us + 3600 * 1_000_000, "given_at", _("in the future"))
        sites = dict(Site.objects.values_list("code", "id"))
        site_codes = list(sites)
        sat = _np(
            pc.fill_null(
                pc.index_in(cols["site_code"], value_set=pa.array(site_codes, pa.string())), -1
            )
        )
        errors.add(sat < 0, "site_code", _("no such vaccination site"))
        site_ids = np.array([sites[c] for c in site_codes] or [0], dtype=np.int64)
        site_id = np.where(sat >= 0, site_ids[np.maximum(sat, 0)], 0)
    with timed("registry"):
        pat, people, _whole = engine.lookup(
            number,
            table="people_person",
            key="document_number",
            columns=REGISTRY_COLUMNS,
            prefetched=registry,
        )
        person_id = _take(people, "id", pat)
        grid_id = _take(people, "grid_id", pat)
        inside = _grids_inside(actor, grid_id)
        # Outside the importer's subtree and not registered read the same: no leak of who lives where.
        errors.add(
            (pat < 0) | ~inside, "id_number", _("nobody in your jurisdiction has this number")
        )
    with timed("repeats"):
        good = np.flatnonzero(errors.good)
        key = person_id[good] * (MAX_DOSE + 1) + dose[good]
        _u, first = np.unique(key, return_index=True)
        repeat = np.ones(len(good), dtype=bool)
        repeat[first] = False
        errors.set_rows(good[repeat], "dose_number", _("the file names this dose twice"))
    good = np.flatnonzero(errors.good)
    with timed("lots"):
        lot_id = _lots(product_id[good], cols["lot"].take(pa.array(good)))
    with timed("doses"):
        created = _store(
            person_id[good], product_id[good], lot_id, dose[good], site_id[good], micros[good]
        )
    with timed("coverage"):
        touched = np.unique(grid_id[good]).tolist() if len(good) else []
        if touched:
            whole = len(touched) > coverage.WHOLE_REFRESH_GRIDS
            coverage.refresh(grid_ids=None if whole else [int(g) for g in touched])
    rejected = engine.collect(parsed, errors, max_stored_errors())
    total = n + len(parsed.short)
    kept = total - rejected.count
    return {
        "header": list(parsed.columns),
        "columns": list(parsed.columns),
        "total": total,
        "created": created,
        "updated": 0,
        "unchanged": kept - created,
        "rejected": rejected,
        "message": _(
            "%(created)s doses recorded, %(unchanged)s already known, %(rejected)s rows rejected"
        )
        % {"created": created, "unchanged": kept - created, "rejected": rejected.count},
    }


def _dose_numbers(texts: pa.Array) -> pa.Array:
    """Each cell as a whole number, -1 where it is not one (one or two digits)."""
    ok = pc.match_substring_regex(texts, r"^[0-9]{1,2}$")
    return pc.if_else(ok, pc.cast(pc.if_else(ok, texts, "0"), pa.int64()), -1)


def _take(table: pa.Table, name: str, at: np.ndarray) -> np.ndarray:
    if not table.num_rows:
        return np.zeros(len(at), dtype=np.int64)
    values = _np(table.column(name).combine_chunks())
    return np.where(at >= 0, values[np.maximum(at, 0)], 0)


def _grids_inside(actor, grid_id: np.ndarray) -> np.ndarray:
    prefix = operator_or_actor_path(actor)
    if prefix == "/":
        return np.ones(len(grid_id), dtype=bool)
    if prefix is None:
        return np.zeros(len(grid_id), dtype=bool)
    ids = np.array(
        list(
            Jurisdiction.objects.filter(path__startswith=prefix, level="grid").values_list(
                "id", flat=True
            )
        )
        or [-1],
        dtype=np.int64,
    )
    return np.isin(grid_id, ids)


def _lots(product_id: np.ndarray, lots: pa.Array) -> np.ndarray:
    """Each row's lot id, registering the (product, lot) pairs not seen before. Pairs are
    integers (product id × distinct lot texts + lot's index), never 25 million joined strings."""
    if not len(product_id):
        return np.zeros(0, dtype=np.int64)
    encoded = pc.dictionary_encode(lots)
    texts = encoded.dictionary.to_pylist()
    pair = product_id.astype(np.int64) * len(texts) + _np(encoded.indices).astype(np.int64)
    distinct, row_pair = np.unique(pair, return_inverse=True)
    wanted = [(int(p) // len(texts), texts[int(p) % len(texts)]) for p in distinct]
    Lot.objects.bulk_create(
        [Lot(product_id=p, code=code) for p, code in wanted],
        ignore_conflicts=True,
        batch_size=1000,
    )
    known = {}
    for product in {p for p, _c in wanted}:
        codes = [c for p, c in wanted if p == product]
        for start in range(0, len(codes), 500):
            for pk, code in Lot.objects.filter(
                product_id=product, code__in=codes[start : start + 500]
            ).values_list("id", "code"):
                known[(product, code)] = pk
    ids = np.array([known[pair] for pair in wanted], dtype=np.int64)
    return ids[row_pair.reshape(-1)]


DOSE_COLUMNS = [
    "person_id",
    "product_id",
    "lot_id",
    "dose_number",
    "site_id",
    "given_at",
    "source",
]


def _store(person_id, product_id, lot_id, dose, site_id, micros) -> int:
    """Insert the doses not stored yet; returns how many were."""
    if not len(person_id):
        return 0
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
            before = _count(cursor)
            cursor.executemany(
                f"INSERT INTO vaccination_dose ({', '.join(DOSE_COLUMNS)}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (person_id, dose_number) DO NOTHING",
                rows,
            )
            return _count(cursor) - before
    fields = [
        ("int8", person_id),
        ("int8", product_id),
        ("int8", lot_id),
        ("int2", dose),
        ("int8", site_id),
        ("timestamptz", micros),
        ("text:import", None),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM vaccination_dose)")
        empty = not cursor.fetchone()[0]
    if empty:
        # An empty table: the file is free of repeats, so the rows go straight in, with the
        # unique key built from one sort afterwards when the role may (engine.indexes_set_aside).
        with engine.indexes_set_aside("vaccination_dose"):
            copy_binary("vaccination_dose", DOSE_COLUMNS, fields)
        return len(person_id)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS vacc_stage")
        cursor.execute(
            "CREATE TEMP TABLE vacc_stage (person_id bigint, product_id bigint, lot_id bigint, "
            "dose_number smallint, site_id bigint, given_at timestamptz, source varchar(8)) "
            "ON COMMIT DROP"
        )
    copy_binary("vacc_stage", DOSE_COLUMNS, fields)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE vacc_stage")
        cols = ", ".join(DOSE_COLUMNS)
        cursor.execute(
            f"INSERT INTO vaccination_dose ({cols}) SELECT {cols} FROM vacc_stage "
            "ON CONFLICT (person_id, dose_number) DO NOTHING"
        )
        return cursor.rowcount


def _count(cursor) -> int:
    cursor.execute("SELECT count(*) FROM vaccination_dose")
    return cursor.fetchone()[0]


_PGCOPY_HEAD = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_PGCOPY_TAIL = struct.pack(">h", -1)
PG_EPOCH_US = engine.PG_EPOCH_US


def copy_binary(table: str, columns: list[str], fields: list[tuple[str, object]]) -> None:
    """COPY fixed-width rows built with numpy: ('int2' | 'int8' | 'timestamptz', array) or
    ('text:VALUE', None) per column (testing's writer has no int2, which dose numbers are)."""
    n = max(len(v) for kind, v in fields if not kind.startswith("text:"))
    layout = [("count", ">i2")]
    for k, (kind, _v) in enumerate(fields):
        if kind == "int2":
            dtype = ">i2"
        elif kind in ("int8", "timestamptz"):
            dtype = ">i8"
        else:
            dtype = f"S{len(kind) - 5}"
        layout += [(f"l{k}", ">i4"), (f"v{k}", dtype)]
    step_rows = 1 << 21
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)"
        ) as copy,
    ):
        copy.write(_PGCOPY_HEAD)
        for start in range(0, n, step_rows):
            stop = min(n, start + step_rows)
            rows = np.empty(stop - start, dtype=np.dtype(layout))
            rows["count"] = len(fields)
            for k, (kind, values) in enumerate(fields):
                if kind.startswith("text:"):
                    rows[f"l{k}"] = len(kind) - 5
                    rows[f"v{k}"] = kind[5:].encode()
                    continue
                rows[f"l{k}"] = 2 if kind == "int2" else 8
                part = np.asarray(values[start:stop], dtype=np.int64)
                if kind == "timestamptz":
                    part = part - PG_EPOCH_US
                rows[f"v{k}"] = part
            copy.write(rows.view(np.uint8).data)
        copy.write(_PGCOPY_TAIL)
    TIMINGS[f"copy {table}"] = TIMINGS.get(f"copy {table}", 0.0) + time.perf_counter() - started
