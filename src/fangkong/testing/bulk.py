"""The set-based engine of mass testing: sample and result files, pool outcomes, statuses, grid counts.

Ten million swabs a day cannot go through the ORM row by row. A file is parsed and checked as
Arrow columns (engine.py), matched to the registry and the registered tubes with one hash lookup
each, and written with COPY (binary for the swabs); pool outcomes, statuses and grid counts are
single SQL statements. Every row keeps its file line, so a bad row comes back with its line and
reason while the good rows go in; a re-import finds every swab stored and changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import logging
import time
from collections import Counter, defaultdict
from contextlib import contextmanager, nullcontext
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import events
from fangkong.common.dbroles import owns
from fangkong.common.imports import (
    Rejected,
    job_broken,
    job_fail,
    job_finish,
    job_start,
    max_stored_errors,
)
from fangkong.common.models import Alert, ImportJob
from fangkong.common.scope import actor_path, require

from . import engine, roles
from .engine import TIMINGS, FileError, timed
from .models import GridStat, Lab, Round, Site, Tube

log = logging.getLogger(__name__)
LOCAL = ZoneInfo("Asia/Shanghai")
SAMPLE_COLUMNS = ["tube_barcode", "id_number", "sampled_at", "site_code"]
RESULT_COLUMNS = ["tube_barcode", "result", "reported_at", "lab_code"]
RESULTS = ("negative", "positive", "invalid")

__all__ = ["TIMINGS", "FileError"]


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _run(sql: str, params=()) -> int:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        n = cursor.rowcount
    key = " ".join(sql.split()[:4])[:48]
    TIMINGS[key] = TIMINGS.get(key, 0.0) + time.perf_counter() - started
    return n


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _drop(*names: str) -> None:
    for name in names:
        _run(f"DROP TABLE IF EXISTS {name}")


def _analyze(*names: str) -> None:
    # Autovacuum never analyses temporary tables; without statistics the planner picks nested loops.
    if _pg():
        for name in names:
            _run(f"ANALYZE {name}")


def parse_local(value: str) -> dt.datetime | None:
    """'YYYY-MM-DD HH:MM:SS' in Asia/Shanghai as an aware datetime; None when malformed."""
    try:
        naive = dt.datetime.strptime(value.strip().replace("T", " "), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return naive.replace(tzinfo=LOCAL)


def _db_datetime(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value) if not _pg() else value


# --------------------------------------------------------------------------- jobs


def _finish(job: ImportJob, *, columns: list[str], rejected: Rejected, extra: dict, **counts):
    job = job_finish(job, header=columns, columns=columns, errors=rejected, **counts)
    audit_record(
        actor=job.actor,
        action=Action.IMPORT,
        obj=job,
        jurisdiction_path=job.jurisdiction_path,
        object_repr=f"{job.kind} {job.filename}",
        changes={
            "total": job.total_rows,
            "created": job.created,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "rejected": job.rejected,
            **extra,
        },
    )
    return job


def _tune() -> None:
    if _pg():
        # Ten million swabs: sorts and hashes in memory, index builds from one sort, and a
        # commit that need not wait for its WAL flush (a lost import is re-run; it is idempotent).
        # Only this transaction of this session gets them.
        _run("SET LOCAL work_mem = '1GB'")
        _run("SET LOCAL maintenance_work_mem = '1GB'")
        _run("SET LOCAL synchronous_commit = off")


def _scope_sql(round_: Round, column: str = "p.jpath") -> tuple[str, list[str]]:
    paths = list(round_.scope_nodes.values_list("path", flat=True))
    if not paths:
        return "1 = 0", []
    return "(" + " OR ".join(f"{column} LIKE %s" for _ in paths) + ")", [p + "%" for p in paths]


def _home_node(round_: Round):
    node = round_.scope_nodes.select_related("jurisdiction").order_by("path").first()
    return node.jurisdiction if node else None


def _root_node():
    from fangkong.geo.models import Jurisdiction

    return Jurisdiction.objects.order_by("depth", "path").first()


def _np(column) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False)


def _take(table: pa.Table, name: str, at: np.ndarray, fill=0) -> np.ndarray:
    """table[name][at] as numpy, `fill` where at is -1 (no row)."""
    if not table.num_rows:
        return np.full(len(at), fill, dtype=np.int64)
    values = _np(table.column(name).combine_chunks())
    return np.where(at >= 0, values[np.maximum(at, 0)], fill)


def _in_batches(sql: str, ids: list, size: int = 5000) -> None:
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        _run(sql.replace("(%s)", "(" + ", ".join(["%s"] * len(batch)) + ")"), batch)


def _temp(name: str, columns: str) -> None:
    _drop(name)
    _run(f"CREATE TEMP TABLE {name} ({columns})")


# --------------------------------------------------------------------------- samples


def import_samples(*, actor, round_: Round, source, filename: str) -> ImportJob:
    require(actor, roles.can_import_samples)
    home = _home_node(round_)
    job = job_start(
        actor=actor,
        kind="testing_samples",
        filename=filename,
        jurisdiction_path=home.path if home else "",
    )
    try:
        with transaction.atomic():
            _tune()
            result = _import_samples(round_, source, home)
            stats_done = result.pop("stats_done")
            job = _finish(job, **result)
            committing = time.perf_counter()
        TIMINGS["commit"] = time.perf_counter() - committing
    except FileError as exc:
        return job_fail(job, str(exc))
    except Exception as exc:
        # One transaction: nothing was written, and the job must not stay "running".
        job_broken(job, exc)
        raise
    if not stats_done:
        stats_refresh_later(round_)
    return job


REGISTRY_COLUMNS = [("id", pa.int64()), ("grid_id", pa.int64())]
# A file of at least this many lines has the registry read beside its parsing (engine.Prefetch).
PREFETCH_ROWS = 100_000


def _import_samples(round_: Round, source, home) -> dict:
    r = round_.pk
    data = source.read()
    registry = (
        engine.Prefetch("people_person", "document_number", REGISTRY_COLUMNS)
        if _pg()
        and (lines := data.count(b"\n" if isinstance(data, bytes) else "\n")) >= PREFETCH_ROWS
        and engine.wants_whole(lines, "people_person")
        else None
    )
    with timed("parse"):
        parsed = engine.read_csv(data, SAMPLE_COLUMNS, ["kind"])
    n = len(parsed)
    cols = parsed.columns
    errors = engine.Errors(n)
    with timed("check"):
        barcode, site = cols["tube_barcode"], cols["site_code"]
        number = pc.utf8_upper(pc.replace_substring(cols["id_number"], " ", ""))
        kind = pc.utf8_lower(cols["kind"])
        recheck = _np(pc.equal(kind, "recheck"))
        blen, slen = _np(pc.utf8_length(barcode)), _np(pc.utf8_length(site))
        errors.add(blen == 0, "tube_barcode", _("empty"))
        errors.add(blen > 40, "tube_barcode", _("longer than 40 characters"))
        errors.add(_np(pc.equal(cols["id_number"], "")), "id_number", _("empty"))
        errors.add(slen == 0, "site_code", _("empty"))
        errors.add(slen > 40, "site_code", _("longer than 40 characters"))
        errors.add(
            ~_np(pc.is_in(kind, value_set=pa.array(["", "pool", "recheck"]))),
            "kind",
            _("must be pool or recheck"),
        )
        micros = engine.local_times(cols["sampled_at"], parse_local)
        errors.add(micros < 0, "sampled_at", _("not a time YYYY-MM-DD HH:MM:SS"))
    with timed("registry"):
        at, people, whole_registry = engine.lookup(
            number,
            table="people_person",
            key="document_number",
            columns=REGISTRY_COLUMNS,
            prefetched=registry,
        )
        errors.add(at < 0, "id_number", _("nobody in the registry has this number"))
        person_id, grid_id = _take(people, "id", at), _take(people, "grid_id", at)
    with timed("tubes"):
        tat, known, _whole = engine.lookup(
            barcode,
            table="testing_tube",
            key="barcode",
            columns=[("id", pa.int64()), ("round_id", pa.int64()), ("kind", pa.string())],
        )
        exists = tat >= 0
        if exists.any():
            known_recheck = _np(pc.equal(known.column("kind").combine_chunks(), "recheck"))
            errors.add(
                exists & (_take(known, "round_id", tat) != r),
                "tube_barcode",
                _("the tube belongs to another round"),
            )
            errors.add(
                exists & (known_recheck[np.maximum(tat, 0)] != recheck),
                "kind",
                _("differs from the tube's kind"),
            )
        fresh = not Tube.objects.filter(round=round_).exists()
        new_tubes = _new_tubes(
            round_, home, errors, barcode, site, recheck, person_id, grid_id, micros, exists
        )
    tube_id = np.where(exists, _take(known, "id", tat), new_tubes["row_tube"])
    errors.add(
        errors.good & (tube_id < 0),
        "tube_barcode",
        _("registered meanwhile by a scanner; import again"),
    )
    good = errors.good
    with timed("samples"):
        created, inserted = _insert_samples(r, good, exists, tube_id, person_id, micros, recheck)
        touched = sorted({int(t) for t in tube_id[good & exists]})
        if touched:
            _in_batches(
                "UPDATE testing_tube SET members = (SELECT count(*) FROM testing_sample x "
                "WHERE x.tube_id = testing_tube.id) WHERE id IN (%s)",
                touched,
            )
        rechecks_sampled = _rechecks_sampled(r, good & recheck, person_id, tube_id)
    stats_done = fresh and not (good & recheck).any()
    if stats_done:
        with timed("stats"):
            _stats_first_samples(
                round_, person_id[inserted], grid_id[inserted], people, whole_registry
            )
    rejected = engine.collect(parsed, errors, max_stored_errors())
    total = n + len(parsed.short)
    good_n = total - rejected.count
    return dict(
        columns=list(parsed.columns),
        total=total,
        created=created,
        updated=0,
        unchanged=good_n - created,
        rejected=rejected,
        message=_("%(samples)s samples in %(tubes)s new tubes; %(rejected)s rows rejected")
        % {"samples": created, "tubes": new_tubes["created"], "rejected": rejected.count},
        stats_done=stats_done,
        extra={
            "round": round_.code,
            "tubes_created": new_tubes["created"],
            "sites_created": new_tubes["sites_created"],
            "rechecks_sampled": rechecks_sampled,
        },
    )


def first_of(group: np.ndarray, person: np.ndarray) -> np.ndarray:
    """Rows that are the first of their (group, person) pair, in row order. A round's file names
    each person once, so a count per person settles it; only people named twice are sorted."""
    if not len(person):
        return np.zeros(0, dtype=np.int64)
    twice = np.bincount(person)[person] > 1
    if not twice.any():
        return np.arange(len(person))
    rows = np.flatnonzero(twice)
    pair = group[rows] * (int(person.max()) + 1) + person[rows]
    _u, first = np.unique(pair, return_index=True)
    keep = ~twice
    keep[rows[first]] = True
    return np.flatnonzero(keep)


def _new_tubes(
    round_, home, errors, barcode, site, recheck, person_id, grid_id, micros, exists
) -> dict:
    """Register the file's new tubes, one row each. A tube whose rows disagree, or that holds more
    swabs than a pool may, is rejected whole rather than half-registered. Returns each row's new
    tube id (-1 for rows of no new tube) and the counts."""
    n = len(errors.code)
    row_tube = np.full(n, -1, dtype=np.int64)
    rows = np.flatnonzero(errors.good & ~exists)
    out = {"row_tube": row_tube, "created": 0, "sites_created": 0}
    if not len(rows):
        return out
    taken = pa.array(rows)
    tubes = pc.dictionary_encode(barcode.take(taken))
    code = _np(tubes.indices).astype(np.int64)
    sites = pc.dictionary_encode(site.take(taken))
    site_code = _np(sites.indices).astype(np.int64)
    k = len(tubes.dictionary)
    # One swab per person and tube: the first line wins, the repeats are harmless.
    first = first_of(code, person_id[rows])
    distinct = np.bincount(code[first], minlength=k)
    stats = (
        pa.table(
            {
                "t": code,
                "ts": micros[rows],
                "rc": recheck[rows].astype(np.int8),
                "s": site_code,
                "g": grid_id[rows],
            }
        )
        .group_by("t")
        .aggregate([("ts", "min_max"), ("rc", "min_max"), ("s", "min_max"), ("g", "min_max")])
    )
    order = _np(stats.column("t"))

    def per_tube(name: str, part: str) -> np.ndarray:
        values = np.empty(k, dtype=np.int64)
        values[order] = _np(pc.struct_field(stats.column(f"{name}_min_max"), part))
        return values

    ts_min, ts_max = per_tube("ts", "min"), per_tube("ts", "max")
    rc_min, rc_max = per_tube("rc", "min"), per_tube("rc", "max")
    s_min, s_max = per_tube("s", "min"), per_tube("s", "max")
    g_min, g_max = per_tube("g", "min"), per_tube("g", "max")
    cap = round_.max_pool_size
    tube_checks = [
        (rc_min != rc_max, "kind", _("rows of one tube disagree on the kind")),
        (s_min != s_max, "site_code", _("rows of one tube disagree on the site")),
        ((rc_max == 1) & (distinct > 1), "kind", _("a re-check tube holds one person")),
        (
            distinct > cap,
            "tube_barcode",
            _("more swabs than the pool size %(size)s") % {"size": cap},
        ),
    ]
    bad = np.zeros(k, dtype=bool)
    for mask, column, reason in tube_checks:
        full = np.zeros(n, dtype=bool)
        full[rows] = (mask & ~bad)[code]
        errors.add(full, column, reason)
        bad |= mask
    ok = np.flatnonzero(~bad)
    if not len(ok):
        return out
    # Unknown sites are created in the round's home node; an operator moves them later.
    names = sites.dictionary.take(pa.array(np.unique(s_min[ok]))).to_pylist()
    found = {}
    for start in range(0, len(names), 500):
        batch = names[start : start + 500]
        found.update(
            {
                c: (i, p)
                for c, i, p in Site.objects.filter(code__in=batch).values_list(
                    "code", "id", "jpath"
                )
            }
        )
    missing = [c for c in names if c not in found]
    if missing:
        Site.objects.bulk_create(
            [
                Site(code=c, name=c, kind=Site.Kind.FIXED, jurisdiction=home, jpath=home.path)
                for c in missing
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        out["sites_created"] = len(missing)
        for start in range(0, len(missing), 500):
            batch = missing[start : start + 500]
            found.update(
                {
                    c: (i, p)
                    for c, i, p in Site.objects.filter(code__in=batch).values_list(
                        "code", "id", "jpath"
                    )
                }
            )
    site_names = sites.dictionary.to_pylist()
    site_ids = np.array([found.get(c, (0, ""))[0] for c in site_names], dtype=np.int64)
    site_paths = pa.array([found.get(c, (0, ""))[1] for c in site_names], pa.string())
    is_recheck = rc_max[ok] == 1
    new = pa.table(
        {
            "barcode": tubes.dictionary.take(pa.array(ok)),
            "site_id": site_ids[s_min[ok]],
            "jpath": site_paths.take(pa.array(s_min[ok])),
            "kind": pc.if_else(pa.array(is_recheck), "recheck", "pool"),
            "capacity": np.where(is_recheck, 1, round_.pool_size),
            "members": distinct[ok],
            "grid_id": pa.array(g_min[ok], mask=g_min[ok] != g_max[ok]),
            "opened_at": engine.timestamps(ts_min[ok]),
            "sampled_at": engine.timestamps(ts_max[ok]),
        }
    )
    with _bulk_tubes(len(ok)) as bulk:
        direct = _copy_new_tubes(round_, new) if bulk else None
        if direct is None:
            made = _insert_new_tubes(round_, new)
    if direct is not None:
        out["created"] = len(ok)
        tube_ids = np.full(k, -1, dtype=np.int64)
        tube_ids[ok] = direct
    else:
        out["created"] = made.num_rows
        where = pc.fill_null(pc.index_in(tubes.dictionary, value_set=made.column("barcode")), -1)
        where = _np(where).astype(np.int64)
        ids = _np(made.column("id").combine_chunks()) if made.num_rows else np.zeros(1, np.int64)
        tube_ids = np.where(where >= 0, ids[np.maximum(where, 0)], -1)
    tube_ids[bad] = -1
    row_tube[rows] = tube_ids[code]
    # Rows of a rejected tube already carry their error; -1 there is not "registered meanwhile".
    row_tube[rows[bad[code]]] = 0
    return out


TUBE_COLUMNS = (
    "barcode, round_id, site_id, jpath, kind, subject, capacity, members, grid_id, status, "
    "opened_at, sampled_at, result, subject_label"
)


def _insert_new_tubes(round_, new: pa.Table) -> pa.Table:
    """The new tubes through a temporary table, each barcode that a scanner registered meanwhile
    left out; (barcode, id) of those stored."""
    _temp(
        "fk_newtube",
        "barcode varchar(40), site_id bigint, jpath varchar(255), kind varchar(8), "
        f"capacity integer, members integer, grid_id bigint, opened_at {_ts()}, sampled_at {_ts()}",
    )
    engine.copy_rows("fk_newtube", new.column_names, new)
    insert = (
        f"INSERT INTO testing_tube ({TUBE_COLUMNS}) "
        f"SELECT barcode, {int(round_.pk)}, site_id, jpath, kind, 'person', capacity, members, grid_id, "
        "'closed', opened_at, sampled_at, '', '' FROM fk_newtube WHERE TRUE "
        "ON CONFLICT (barcode) DO NOTHING RETURNING barcode, id"
    )
    made = engine.select(insert, None, [("barcode", pa.string()), ("id", pa.int64())])
    _drop("fk_newtube")
    return made


def _copy_new_tubes(round_, new: pa.Table) -> np.ndarray | None:
    """A round's million new tubes straight into the table with ids taken from the sequence in
    one step: no temporary table, no INSERT … SELECT, no million barcodes sent back (1M tubes:
    ~10 s -> ~3 s). Writers of tubes wait on the lock meanwhile. None, and nothing written, when
    a barcode was registered by a scanner between the lookup and the lock: the caller takes the
    path that leaves such tubes out."""
    n = new.num_rows
    _run("LOCK TABLE testing_tube IN SHARE ROW EXCLUSIVE MODE")
    first = _rows("SELECT nextval(pg_get_serial_sequence('testing_tube', 'id'))")[0][0]
    _rows("SELECT setval(pg_get_serial_sequence('testing_tube', 'id'), %s)", [first + n - 1])
    ids = np.arange(first, first + n, dtype=np.int64)
    rows = pa.table(
        {
            "id": ids,
            "barcode": new.column("barcode"),
            "round_id": np.full(n, round_.pk, dtype=np.int64),
            "site_id": new.column("site_id"),
            "jpath": new.column("jpath"),
            "kind": new.column("kind"),
            "subject": pa.repeat("person", n),
            "capacity": new.column("capacity"),
            "members": new.column("members"),
            "grid_id": new.column("grid_id"),
            "status": pa.repeat("closed", n),
            "opened_at": new.column("opened_at"),
            "sampled_at": new.column("sampled_at"),
            "result": pa.repeat("", n),
            "subject_label": pa.repeat("", n),
        }
    )
    try:
        with transaction.atomic():
            engine.copy_rows("testing_tube", ["id", *TUBE_COLUMNS.split(", ")], rows)
    except IntegrityError:
        return None
    return ids


@contextmanager
def _bulk_tubes(n: int, share: float = 1.0):
    """Set the tube table's indexes aside (all but the barcode's, which keeps barcodes unique)
    when `n` rows are written and that is at least `share` of the table; yields whether it did."""
    if _pg() and n >= BULK_TUBES and n >= share * engine.estimated_rows("testing_tube"):
        with engine.indexes_set_aside("testing_tube", keep=("testing_tube_barcode_key",)):
            yield True
        if owns("testing_tube"):  # else autovacuum's; the app role may not analyse
            _run("ANALYZE testing_tube")
    else:
        yield False


BULK_TUBES = 100_000


def _ts() -> str:
    return "timestamptz" if _pg() else "datetime"


# A file at least this large, and at least as large as the sample table, is loaded with the
# table's secondary indexes dropped and rebuilt after: one sort each instead of ten million
# random index insertions. The import's transaction holds the table's lock until they are back.
BULK_SAMPLES = 200_000
SAMPLE_FIELDS = ["round_id", "tube_id", "person_id", "sampled_at", "kind", "tube_open"]


def _insert_samples(r, good, exists, tube_id, person_id, micros, recheck):
    """Store the good rows' swabs; (number stored, mask of the rows stored)."""
    n = len(good)
    inserted = np.zeros(n, dtype=bool)
    # Swabs in tubes this file created cannot be there yet: only repeats inside the file are left
    # out. Swabs for tubes that existed are checked against the table.
    new_rows = np.flatnonzero(good & ~exists)
    if len(new_rows):
        inserted[new_rows[first_of(tube_id[new_rows], person_id[new_rows])]] = True
    old_rows = np.flatnonzero(good & exists)
    if len(old_rows):
        stored = _stored_pairs(sorted({int(t) for t in tube_id[old_rows]}))
        scale = int(max(person_id.max(), max((p for _t, p in stored), default=0))) + 1
        pair = tube_id[old_rows] * scale + person_id[old_rows]
        _u, first = np.unique(pair, return_index=True)
        first = np.sort(first)
        have = np.array([t * scale + p for t, p in stored], dtype=np.int64)
        fresh = ~np.isin(pair[first], have)
        inserted[old_rows[first[fresh]]] = True
    rows = np.flatnonzero(inserted)
    if not len(rows):
        return 0, inserted
    if not _pg():
        # Column-wise: SQLite stores the UTC time as text, formatted here by Arrow in one pass.
        texts = pc.strftime(
            engine.timestamps(micros[rows]).cast(pa.timestamp("s", tz="UTC")),
            format="%Y-%m-%d %H:%M:%S",
        )
        values = zip(
            itertools.repeat(r),
            tube_id[rows].tolist(),
            person_id[rows].tolist(),
            texts.to_pylist(),
            np.where(recheck[rows], "recheck", "pool").tolist(),
            itertools.repeat(False),
            strict=False,
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO testing_sample ({', '.join(SAMPLE_FIELDS)}) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                list(values),
            )
        return len(rows), inserted
    rebuild = len(rows) >= BULK_SAMPLES and len(rows) >= engine.estimated_rows("testing_sample")
    # Rows out of open tubes are not in the open-tube index: it costs nothing to keep.
    with (
        engine.indexes_set_aside("testing_sample", keep=("sample_one_open_tube",), primary=True)
        if rebuild
        else nullcontext()
    ):
        first_id = None
        if rebuild:
            # The table is locked against every other writer now: take the ids in one step
            # instead of a sequence call per row.
            first_id = _rows("SELECT nextval(pg_get_serial_sequence('testing_sample', 'id'))")[0][0]
            _rows(
                "SELECT setval(pg_get_serial_sequence('testing_sample', 'id'), %s)",
                [first_id + len(rows) - 1],
            )
        _copy_samples(r, rows, tube_id, person_id, micros, recheck, first_id)
    if rebuild:
        # Autovacuum would take minutes to notice ten million new rows; until then the planner
        # thinks the round has a few thousand swabs and sizes every later hash for those.
        if owns("testing_sample"):
            _run("ANALYZE testing_sample")
    return len(rows), inserted


def _copy_samples(r, rows, tube_id, person_id, micros, recheck, first_id) -> None:
    ids = None if first_id is None else np.arange(first_id, first_id + len(rows), dtype=np.int64)
    for kind, mask in (("pool", ~recheck[rows]), ("recheck", recheck[rows])):
        part = rows[mask]
        if len(part):
            fields = [
                ("int8", np.full(len(part), r, dtype=np.int64)),
                ("int8", tube_id[part]),
                ("int8", person_id[part]),
                ("timestamptz", micros[part]),
                (f"text:{kind}", None),
                ("bool", np.zeros(len(part), dtype=np.uint8)),
            ]
            names = SAMPLE_FIELDS
            if ids is not None:
                names, fields = ["id", *names], [("int8", ids[mask]), *fields]
            engine.copy_binary("testing_sample", names, fields)


def _stored_pairs(tube_ids: list[int]) -> list[tuple[int, int]]:
    pairs = []
    for start in range(0, len(tube_ids), 5000):
        batch = tube_ids[start : start + 5000]
        marks = ", ".join(["%s"] * len(batch))
        pairs += _rows(
            f"SELECT tube_id, person_id FROM testing_sample WHERE tube_id IN ({marks})", batch
        )
    return pairs


def _rechecks_sampled(r, rows_mask, person_id, tube_id) -> int:
    rows = np.flatnonzero(rows_mask)
    if not len(rows):
        return 0
    _temp("fk_rc", "person_id bigint, tube_id bigint")
    engine.copy_rows(
        "fk_rc", ["person_id", "tube_id"], pa.table({"p": person_id[rows], "t": tube_id[rows]})
    )
    n = _run(
        "UPDATE testing_recheck SET status = 'sampled', recheck_tube_id = x.tube_id, updated_at = %s "
        "FROM fk_rc x WHERE testing_recheck.round_id = %s AND testing_recheck.person_id = x.person_id "
        "AND testing_recheck.status = 'pending'",
        [_db_datetime(timezone.now()), r],
    )
    _drop("fk_rc")
    return n


def _stats_first_samples(round_: Round, person_id, grid_id, people: pa.Table, whole: bool) -> None:
    """The grid counts of a round whose only swabs are this file's pool swabs: everyone in scope
    is expected, each distinct person of the file sampled, nobody resulted yet. The same rows as
    stats_refresh would write, without reading the round's ten million samples back."""
    from fangkong.geo.models import Jurisdiction, Level

    grids = {}
    for path in round_.scope_nodes.values_list("path", flat=True):
        grids.update(
            Jurisdiction.objects.filter(level=Level.GRID, path__startswith=path).values_list(
                "id", "path"
            )
        )
    # Counting by bincount (ids are small integers) rather than sorting ten million of them.
    grid_of = np.zeros(int(person_id.max(initial=0)) + 1, dtype=np.int64)
    grid_of[person_id] = grid_id
    present = np.bincount(person_id, minlength=len(grid_of)) > 0
    sampled = dict(enumerate(np.bincount(grid_of[present]).tolist()))
    if whole:
        # The whole registry came back for the lookup: count the expected people from it.
        counts = np.bincount(_np(people.column("grid_id").combine_chunks()))
        expected = dict(enumerate(counts.tolist()))
    else:
        scope, params = _scope_sql(round_)
        expected = dict(
            _rows(
                f"SELECT p.grid_id, count(*) FROM people_person p WHERE {scope} GROUP BY p.grid_id",
                params,
            )
        )
    now = timezone.now()
    GridStat.objects.filter(round=round_).delete()
    GridStat.objects.bulk_create(
        [
            GridStat(
                round=round_,
                grid_id=g,
                path=path,
                expected=expected[g],
                sampled=int(sampled.get(g, 0)),
                refreshed_at=now,
            )
            for g, path in grids.items()
            if expected.get(g)
        ],
        batch_size=2000,
    )


# --------------------------------------------------------------------------- results


def import_results(*, actor, source, filename: str) -> ImportJob:
    require(actor, roles.can_report)
    path = actor_path(actor) or ""
    job = job_start(actor=actor, kind="testing_results", filename=filename, jurisdiction_path=path)
    try:
        with transaction.atomic():
            _tune()
            result = _import_results(actor, source)
            rounds = result.pop("rounds")
            job = _finish(job, **result)
            committing = time.perf_counter()
        TIMINGS["commit"] = time.perf_counter() - committing
    except FileError as exc:
        return job_fail(job, str(exc))
    except Exception as exc:
        job_broken(job, exc)
        raise
    for round_ in Round.objects.filter(pk__in=rounds):
        stats_refresh_later(round_)
    return job


CT = "^[0-9]{1,3}([.][0-9]{1,2})?$"


def _import_results(actor, source) -> dict:
    with timed("parse"):
        parsed = engine.read_csv(source, RESULT_COLUMNS, ["ct_orf1ab", "ct_n"])
    n = len(parsed)
    cols = parsed.columns
    errors = engine.Errors(n)
    with timed("check"):
        barcode, lab = cols["tube_barcode"], cols["lab_code"]
        result = pc.utf8_lower(cols["result"])
        llen = _np(pc.utf8_length(lab))
        errors.add(_np(pc.equal(barcode, "")), "tube_barcode", _("empty"))
        errors.add(
            ~_np(pc.is_in(result, value_set=pa.array(list(RESULTS)))),
            "result",
            _("must be negative, positive or invalid"),
        )
        errors.add(llen == 0, "lab_code", _("empty"))
        errors.add(llen > 40, "lab_code", _("longer than 40 characters"))
        for name in ("ct_orf1ab", "ct_n"):
            value = cols[name]
            bad = _np(pc.not_equal(value, "")) & ~_np(pc.match_substring_regex(value, CT))
            errors.add(bad, name, _("not a Ct value"))
        micros = engine.local_times(cols["reported_at"], parse_local)
        errors.add(micros < 0, "reported_at", _("not a time YYYY-MM-DD HH:MM:SS"))
    with timed("tubes"):
        at, tubes, _whole = engine.lookup(
            barcode,
            table="testing_tube",
            key="barcode",
            columns=[
                ("id", pa.int64()),
                ("round_id", pa.int64()),
                ("result", pa.string()),
                ("kind", pa.string()),
            ],
        )
        errors.add(at < 0, "tube_barcode", _("no such tube"))
        good = np.flatnonzero(errors.good)
        _u, first = np.unique(at[good], return_index=True)
        later = np.ones(len(good), dtype=bool)
        later[first] = False
        errors.set_rows(good[later], "tube_barcode", _("the tube appears earlier in the file"))
        old = (
            pc.take(
                pc.fill_null(tubes.column("result").combine_chunks(), ""),
                pa.array(np.maximum(at, 0)),
            )
            if tubes.num_rows
            else pa.array([""] * n, pa.string())
        )
        differs = _np(pc.and_(pc.not_equal(old, ""), pc.not_equal(old, result)))
        for previous in RESULTS:
            mask = differs & _np(pc.equal(old, previous))
            errors.add(mask, "result", _("the tube is already reported as ") + previous)
        change = errors.good & _np(pc.equal(old, ""))
    home = getattr(actor, "jurisdiction", None) or _root_node()
    rows = np.flatnonzero(change)
    labs_created, lab_ids = _labs(lab.take(pa.array(np.flatnonzero(errors.good))).to_pylist(), home)
    _temp(
        "fk_chg",
        f"tube_id bigint, round_id bigint, result varchar(8), ts {_ts()}, lab_id bigint, "
        "ct1 numeric(5, 2), ct2 numeric(5, 2)",
    )
    changed = 0
    if len(rows):
        taken = pa.array(rows)
        engine.copy_rows(
            "fk_chg",
            ["tube_id", "round_id", "result", "ts", "lab_id", "ct1", "ct2"],
            pa.table(
                {
                    "tube_id": _take(tubes, "id", at[rows]),
                    "round_id": _take(tubes, "round_id", at[rows]),
                    "result": result.take(taken),
                    "ts": engine.timestamps(micros[rows]),
                    "lab_id": pa.array(
                        [lab_ids[c] for c in lab.take(taken).to_pylist()], pa.int64()
                    ),
                    "ct1": pc.if_else(
                        pc.equal(cols["ct_orf1ab"].take(taken), ""),
                        None,
                        cols["ct_orf1ab"].take(taken),
                    ),
                    "ct2": pc.if_else(
                        pc.equal(cols["ct_n"].take(taken), ""), None, cols["ct_n"].take(taken)
                    ),
                }
            ),
        )
        _analyze("fk_chg")
        with timed("update tubes"), _bulk_tubes(len(rows), share=0.3):
            changed = _run(
                "UPDATE testing_tube SET result = c.result, status = 'resulted', reported_at = c.ts, "
                "tested_at = COALESCE(testing_tube.tested_at, c.ts), lab_id = c.lab_id, "
                "ct_orf1ab = c.ct1, ct_n = c.ct2 FROM fk_chg c WHERE testing_tube.id = c.tube_id"
            )
    with timed("turnaround"):
        turnaround_add("fk_chg")
    # Negative pools need nothing more (a status is derived from the tube): only the tubes that
    # put people under control, on a worklist or on the positive list go on.
    kinds = (
        pc.take(tubes.column("kind").combine_chunks(), pa.array(at[rows])) if len(rows) else None
    )
    hot = rows
    if len(rows):
        hot = rows[
            _np(pc.is_in(result.take(pa.array(rows)), value_set=pa.array(["positive", "invalid"])))
            | _np(pc.equal(kinds, "recheck"))
        ]
    _temp("fk_hot", "tube_id bigint")
    engine.copy_rows("fk_hot", ["tube_id"], pa.table({"tube_id": _take(tubes, "id", at[hot])}))
    started = time.perf_counter()
    effects = apply_results("fk_hot")
    TIMINGS["outcomes"] = time.perf_counter() - started
    _drop("fk_hot")
    good_rounds = _take(tubes, "round_id", at[errors.good]) if tubes.num_rows else np.zeros(0)
    rounds = sorted({int(x) for x in good_rounds})
    with_rechecks = (
        {int(x) for x in _take(tubes, "round_id", at[rows])[_np(pc.equal(kinds, "recheck"))]}
        if len(rows)
        else set()
    )
    # Rounds whose grid counts this file can move on by itself need no recount afterwards.
    with timed("stats"):
        rounds = [x for x in rounds if x in with_rechecks or not _stats_results_delta(x)]
    _drop("fk_chg")
    rejected = engine.collect(parsed, errors, max_stored_errors())
    total = n + len(parsed.short)
    good_n = total - rejected.count
    return dict(
        columns=list(parsed.columns),
        total=total,
        created=0,
        updated=changed,
        unchanged=good_n - changed,
        rejected=rejected,
        message=_("%(n)s results recorded; %(p)s positive pools; %(rejected)s rows rejected")
        % {"n": changed, "p": effects["positive_pools"], "rejected": rejected.count},
        rounds=rounds,
        extra={"labs_created": labs_created, **effects},
    )


def _labs(codes: list[str], home) -> tuple[int, dict[str, int]]:
    names = sorted(set(codes))
    found = {}
    for start in range(0, len(names), 500):
        found.update(
            Lab.objects.filter(code__in=names[start : start + 500]).values_list("code", "id")
        )
    missing = [c for c in names if c not in found]
    if missing:
        Lab.objects.bulk_create(
            [Lab(code=c, name=c, jurisdiction=home, jpath=home.path) for c in missing],
            ignore_conflicts=True,
        )
        found.update(Lab.objects.filter(code__in=missing).values_list("code", "id"))
    return len(missing), found


def _stats_results_delta(round_id: int) -> bool:
    """Move the round's grid counts by this file's results, when that is exact: the counts exist,
    every person counted as sampled has exactly one swab in the round (the tubes' members add up
    to the sampled count, so no one has a second swab or a swab outside the scope), and every
    newly reported tube is a pool (the caller knows). Then each member of a reported tube goes from pending to the
    tube's result. Otherwise (False) the caller recounts the round."""
    counted = _rows(
        "SELECT count(*), COALESCE(sum(sampled), 0) FROM testing_gridstat WHERE round_id = %s",
        [round_id],
    )[0]
    if not counted[0]:
        return False
    swabs = _rows(
        "SELECT COALESCE(sum(members), 0) FROM testing_tube WHERE round_id = %s", [round_id]
    )[0][0]
    if swabs != counted[1]:
        return False
    # A tube whose people share a grid moves that grid by its member count; the few pools that
    # mix grids are counted swab by swab.
    _run(
        "UPDATE testing_gridstat SET resulted = resulted + d.n, negative = negative + d.neg, "
        "recheck = recheck + d.pos, resample = resample + d.inv, refreshed_at = %s FROM ("
        "SELECT grid_id, sum(n) AS n, "
        "SUM(CASE WHEN result = 'negative' THEN n ELSE 0 END) AS neg, "
        "SUM(CASE WHEN result = 'positive' THEN n ELSE 0 END) AS pos, "
        "SUM(CASE WHEN result = 'invalid' THEN n ELSE 0 END) AS inv FROM ("
        "SELECT t.grid_id, t.members AS n, c.result FROM fk_chg c JOIN testing_tube t ON t.id = c.tube_id "
        "WHERE c.round_id = %s AND t.grid_id IS NOT NULL UNION ALL "
        "SELECT p.grid_id, 1, c.result FROM fk_chg c JOIN testing_tube t ON t.id = c.tube_id "
        "JOIN testing_sample s ON s.tube_id = t.id JOIN people_person p ON p.id = s.person_id "
        "WHERE c.round_id = %s AND t.grid_id IS NULL) x GROUP BY grid_id) d "
        "WHERE testing_gridstat.round_id = %s AND testing_gridstat.grid_id = d.grid_id",
        [_db_datetime(timezone.now()), round_id, round_id, round_id],
    )
    return True


# --------------------------------------------------------------------------- outcomes


def apply_results(changed: str) -> dict:
    """What newly reported tubes (ids in the temp table `changed`) mean for their people.

    A positive pool puts every member under temporary control and on the re-check worklist, and
    alerts each grid concerned; an invalid pool queues everyone for re-sampling; a single-tube
    re-check closes the worklist item, and a positive one becomes a positive finding.
    """
    now = timezone.now()
    now_db = _db_datetime(now)
    # Negative pools need nothing (a status is derived from the tube); narrow to the few that do.
    _drop("fk_hit")
    _run(
        f"CREATE TEMP TABLE fk_hit AS SELECT t.id AS tube_id FROM {changed} c JOIN testing_tube t ON t.id = c.tube_id "
        "WHERE t.result IN ('positive', 'invalid') OR t.kind = 'recheck'"
    )
    _analyze("fk_hit")
    changed = "fk_hit"
    members = (
        f"FROM {changed} c JOIN testing_tube t ON t.id = c.tube_id JOIN testing_sample s ON s.tube_id = t.id "
        "JOIN people_person p ON p.id = s.person_id"
    )
    pools, singles = _rows(
        "SELECT COALESCE(SUM(CASE WHEN t.kind = 'pool' THEN 1 ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN t.kind = 'recheck' THEN 1 ELSE 0 END), 0) "
        "FROM fk_hit c JOIN testing_tube t ON t.id = c.tube_id"
    )[0]
    # Each statement below joins the tubes to their swabs and people: run only the ones that
    # have tubes of their kind (a lab file of pools has no single-tube re-checks, and a join
    # planned for none can still read the whole swab table).
    controls = rechecks = closed = findings = released = 0
    if pools:
        controls = _run(
            "INSERT INTO testing_temporarycontrol (round_id, person_id, tube_id, jpath, since, released_at) "
            f"SELECT t.round_id, s.person_id, t.id, p.jpath, %s, NULL {members} "
            "WHERE t.kind = 'pool' AND t.result = 'positive' "
            "ON CONFLICT (round_id, person_id) DO UPDATE SET released_at = NULL, tube_id = excluded.tube_id, since = excluded.since",
            [now_db],
        )
        rechecks = _run(
            "INSERT INTO testing_recheck (round_id, person_id, source_tube_id, reason, status, jpath, result, created_at, updated_at) "
            f"SELECT t.round_id, s.person_id, t.id, CASE WHEN t.result = 'positive' THEN 'positive_pool' ELSE 'invalid' END, "
            f"'pending', p.jpath, '', %s, %s {members} "
            "WHERE t.kind = 'pool' AND t.result IN ('positive', 'invalid') "
            "ON CONFLICT (source_tube_id, person_id) DO NOTHING",
            [now_db, now_db],
        )
    if singles:
        # Single-tube re-checks: negative and positive close the item; invalid sends the team back.
        closed = _run(
            "UPDATE testing_recheck SET status = CASE WHEN t.result = 'invalid' THEN 'pending' ELSE 'resulted' END, "
            "result = t.result, recheck_tube_id = t.id, updated_at = %s "
            f"FROM {changed} c JOIN testing_tube t ON t.id = c.tube_id JOIN testing_sample s ON s.tube_id = t.id "
            "WHERE t.kind = 'recheck' AND testing_recheck.round_id = t.round_id "
            "AND testing_recheck.person_id = s.person_id AND testing_recheck.status IN ('pending', 'sampled')",
            [now_db],
        )
        findings = _run(
            "INSERT INTO testing_positivefinding (round_id, person_id, tube_id, jpath, at) "
            f"SELECT t.round_id, s.person_id, t.id, p.jpath, COALESCE(t.reported_at, %s) {members} "
            "WHERE t.kind = 'recheck' AND t.result = 'positive' ON CONFLICT (tube_id, person_id) DO NOTHING",
            [now_db],
        )
        released = _run(
            "UPDATE testing_temporarycontrol SET released_at = %s "
            f"FROM {changed} c JOIN testing_tube t ON t.id = c.tube_id JOIN testing_sample s ON s.tube_id = t.id "
            "WHERE t.kind = 'recheck' AND t.result = 'negative' AND testing_temporarycontrol.round_id = t.round_id "
            "AND testing_temporarycontrol.person_id = s.person_id AND testing_temporarycontrol.released_at IS NULL",
            [now_db],
        )
    positive = _rows(
        "SELECT t.id, t.barcode, t.round_id, t.kind, s.person_id, p.grid_id, p.jpath "
        f"{members} WHERE t.result = 'positive' ORDER BY t.id, s.person_id"
    )
    pools, alerts = _alerts_and_events(positive, now)
    _drop("fk_hit")
    return {
        "positive_pools": pools,
        "controls": controls,
        "rechecks": rechecks,
        "rechecks_closed": closed,
        "findings": findings,
        "controls_released": released,
        "alerts": alerts,
    }


def _alerts_and_events(rows, now) -> tuple[int, int]:
    tubes: dict[int, dict] = {}
    for tube_id, barcode, round_id, kind, person_id, _grid_id, jpath in rows:
        entry = tubes.setdefault(
            tube_id,
            {"barcode": barcode, "round_id": round_id, "kind": kind, "people": [], "paths": set()},
        )
        entry["people"].append(person_id)
        entry["paths"].add(jpath)
    per_path = Counter((row[0], row[6]) for row in rows)
    alerts = []
    for tube_id, entry in tubes.items():
        pool = entry["kind"] == "pool"
        for path in sorted(entry["paths"]):
            count = per_path[tube_id, path]
            title = (
                _("Positive pool %(tube)s: %(n)s people of this grid under temporary control")
                if pool
                else _("Single-tube positive %(tube)s: %(n)s person")
            ) % {"tube": entry["barcode"], "n": count}
            alerts.append(
                Alert(
                    kind="pool_positive" if pool else "person_positive",
                    level=Alert.Level.CRITICAL,
                    title=title[:200],
                    jurisdiction_path=path,
                    object_type="testing.tube",
                    object_id=str(tube_id),
                    dedupe_key=f"testing:{'pool' if pool else 'single'}:{tube_id}:{path}"[:200],
                )
            )
    Alert.objects.bulk_create(alerts, ignore_conflicts=True, batch_size=1000)
    pools = 0
    for tube_id, entry in tubes.items():
        if entry["kind"] == "pool":
            pools += 1
            events.publish(
                "testing.pool_positive",
                round_id=entry["round_id"],
                tube_id=tube_id,
                barcode=entry["barcode"],
                person_ids=entry["people"],
                at=now,
            )
        else:
            for person_id in entry["people"]:
                events.publish(
                    "testing.person_positive",
                    round_id=entry["round_id"],
                    tube_id=tube_id,
                    barcode=entry["barcode"],
                    person_id=person_id,
                    at=now,
                )
    return pools, len(alerts)


def turnaround_add(changed: str) -> None:
    """Add newly reported tubes (ids in `changed`) to the turnaround counts of their site and lab."""
    if _pg():
        seconds = "EXTRACT(EPOCH FROM t.reported_at - t.sampled_at)"
    else:
        seconds = "(julianday(t.reported_at) - julianday(t.sampled_at)) * 86400.0"
    _run(
        "INSERT INTO testing_turnaroundstat (round_id, site_id, lab_id, jpath, lab_path, tubes, seconds) "
        f"SELECT t.round_id, t.site_id, t.lab_id, min(t.jpath), min(l.jpath), count(*), sum({seconds}) "
        f"FROM {changed} c JOIN testing_tube t ON t.id = c.tube_id JOIN testing_lab l ON l.id = t.lab_id "
        "WHERE t.sampled_at IS NOT NULL AND t.reported_at IS NOT NULL "
        "GROUP BY t.round_id, t.site_id, t.lab_id "
        "ON CONFLICT (round_id, site_id, lab_id) DO UPDATE SET "
        "tubes = testing_turnaroundstat.tubes + excluded.tubes, "
        "seconds = testing_turnaroundstat.seconds + excluded.seconds"
    )


def apply_results_for(tube_ids: list[int]) -> dict:
    """The same outcomes for a few tubes reported through the API."""
    _drop("fk_one")
    _run("CREATE TEMP TABLE fk_one (tube_id bigint)")
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO fk_one VALUES (%s)", [(t,) for t in tube_ids])
    try:
        turnaround_add("fk_one")
        return apply_results("fk_one")
    finally:
        _drop("fk_one")


# --------------------------------------------------------------------------- statuses

STATUS_CASE = (
    "CASE WHEN l.person_id IS NULL THEN 'not_tested' "
    "WHEN l.result = 'invalid' THEN 'resample_required' "
    "WHEN l.result = '' THEN CASE WHEN l.kind = 'recheck' THEN 'recheck_pending' ELSE 'pending' END "
    "WHEN l.result = 'negative' THEN 'negative' "
    "WHEN l.kind = 'recheck' THEN 'positive' ELSE 'recheck_required' END"
)


def _latest_sql() -> str:
    """Each person's latest sample in the round, with its tube's result."""
    if _pg():
        return (
            "SELECT DISTINCT ON (s.person_id) s.person_id, s.kind, t.result FROM testing_sample s "
            "JOIN testing_tube t ON t.id = s.tube_id WHERE s.round_id = %s "
            "ORDER BY s.person_id, s.sampled_at DESC, s.id DESC"
        )
    return (
        "SELECT person_id, kind, result FROM (SELECT s.person_id, s.kind, t.result, ROW_NUMBER() OVER "
        "(PARTITION BY s.person_id ORDER BY s.sampled_at DESC, s.id DESC) AS nth FROM testing_sample s "
        "JOIN testing_tube t ON t.id = s.tube_id WHERE s.round_id = %s) x WHERE nth = 1"
    )


def status_sql(round_: Round, *, within: str | None = None) -> tuple[str, list]:
    """One query: every person in the round's scope (or a node inside it) with their status."""
    scope, params = _scope_sql(round_)
    extra = ""
    if within:
        extra, params = " AND p.jpath LIKE %s", [*params, within + "%"]
    sql = (
        f"SELECT p.id, p.document_number, p.grid_id, p.jpath, {STATUS_CASE} AS status "
        f"FROM people_person p LEFT JOIN ({_latest_sql()}) l ON l.person_id = p.id WHERE {scope}{extra}"
    )
    return sql, [round_.pk, *params]


def export_status(*, round_: Round, out) -> int:
    """Write `id_number,status` for everyone in the round's scope; returns the number of people."""
    sql, params = status_sql(round_)
    query = f"SELECT document_number AS id_number, status FROM ({sql}) x"
    if _pg():
        return _export_status_columns(round_, out)
    with transaction.atomic():
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id_number", "status"])
        n = 0
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            while rows := cursor.fetchmany(10000):
                writer.writerows(rows)
                n += len(rows)
        return n


# Status codes of the columnar export, in STATUS_CASE's words.
STATUSES = np.array(
    [
        "not_tested",
        "pending",
        "recheck_pending",
        "negative",
        "recheck_required",
        "positive",
        "resample_required",
    ]
)
# By (tube kind is recheck, tube result): the status of a person whose latest swab is in it.
_STATUS_OF = {
    (0, ""): 1,
    (1, ""): 2,
    (0, "negative"): 3,
    (1, "negative"): 3,
    (0, "positive"): 4,
    (1, "positive"): 5,
    (0, "invalid"): 6,
    (1, "invalid"): 6,
}


def _export_status_columns(round_: Round, out) -> int:
    """export_status on PostgreSQL. One SQL statement (people LEFT JOIN each one's latest swab)
    spent 20 s of one core on a round of ten million, with sorts and a 10M-row hash, and its COPY
    out ten million Python calls. Here three packed reads (the scope's people on a connection
    of its own, beside the round's swabs and tubes), the latest swab per person by a sort in numpy,
    and Arrow writes the file."""
    scope, params = _scope_sql(round_, column="jpath")
    people_columns = [("id", pa.int64()), ("document_number", pa.string())]
    big = engine.estimated_rows("testing_sample") >= PREFETCH_ROWS
    people = engine.Prefetch("people_person", None, people_columns, scope, params) if big else None
    with transaction.atomic():
        _tune()
        swabs = engine.fetch_all(
            "testing_sample",
            [
                ("person_id", pa.int64()),
                ("id", pa.int64()),
                ("sampled_at", pa.timestamp("us")),
                ("tube_id", pa.int64()),
            ],
            "round_id = %s",
            [round_.pk],
        )
        tubes = engine.fetch_all(
            "testing_tube",
            [("id", pa.int64()), ("kind", pa.string()), ("result", pa.string())],
            "round_id = %s",
            [round_.pk],
        )
        registry = (
            people.get()
            if people
            else engine.fetch_all("people_person", people_columns, scope, params)
        )
    person = _np(swabs.column("person_id"))
    # Each person's latest swab: by person, then time, then id, the last of each person's run.
    order = np.lexsort((_np(swabs.column("id")), _np(swabs.column("sampled_at")), person))
    ranked = person[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = ranked[1:] != ranked[:-1]
    latest, who = order[last], ranked[last]
    # Each latest swab's status from its tube's kind and result.
    tube_ids = _np(tubes.column("id"))
    by_id = np.argsort(tube_ids)
    kind_result = pa.table(
        {
            "r": pc.equal(tubes.column("kind"), "recheck").cast(pa.int8()),
            "x": tubes.column("result"),
        }
    )
    tube_status = np.zeros(len(tube_ids), dtype=np.int8)
    for (recheck, result), code in _STATUS_OF.items():
        mask = _np(
            pc.and_(
                pc.equal(kind_result.column("r"), recheck),
                pc.equal(kind_result.column("x"), result),
            )
        )
        tube_status[mask] = code
    swab_tube = _np(swabs.column("tube_id"))[latest]
    status_of_swab = np.zeros(len(latest), dtype=np.int8)
    if len(tube_ids) and len(latest):
        at = by_id[np.minimum(np.searchsorted(tube_ids[by_id], swab_tube), len(tube_ids) - 1)]
        status_of_swab = np.where(tube_ids[at] == swab_tube, tube_status[at], 0)
    # Everyone in scope, in the registry's order; not_tested unless a swab says otherwise.
    ids = _np(registry.column("id"))
    status = np.zeros(len(ids), dtype=np.int8)
    if len(who):
        pos = np.minimum(np.searchsorted(who, ids), len(who) - 1)
        found = who[pos] == ids
        status[found] = status_of_swab[pos[found]]
    table = pa.table(
        {
            "id_number": registry.column("document_number"),
            "status": pa.DictionaryArray.from_arrays(
                pa.array(status.astype(np.int32)), pa.array(STATUSES.tolist())
            ).cast(pa.string()),
        }
    )
    buffer = io.BytesIO()
    buffer.write(b"id_number,status\n")
    try:
        # Unquoted, as PostgreSQL's COPY wrote it; Arrow refuses a value that would need quotes.
        pacsv.write_csv(
            table,
            buffer,
            pacsv.WriteOptions(include_header=False, batch_size=1 << 18, quoting_style="none"),
        )
    except pa.ArrowInvalid:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id_number", "status"])
        writer.writerows(zip(*table.to_pydict().values(), strict=True))
        buffer = io.BytesIO(buffer.getvalue().encode())
    data = buffer.getbuffer()
    if not isinstance(out, io.TextIOBase):
        out.write(data)
    elif hasattr(out, "buffer"):  # a text file: its bytes, not 300 MB decoded first
        out.flush()
        out.buffer.write(data)
    else:
        out.write(data.tobytes().decode())
    return table.num_rows


def stats_refresh(*, round_id: int) -> int:
    """Recount the round per grid in one statement; the HQ page reads only these rows."""
    round_ = Round.objects.get(pk=round_id)
    sql, params = status_sql(round_)
    now = _db_datetime(timezone.now())

    def count(*statuses) -> str:
        names = ", ".join(f"'{s}'" for s in statuses)
        return f"SUM(CASE WHEN x.status IN ({names}) THEN 1 ELSE 0 END)"

    with transaction.atomic():
        _tune()
        _run("DELETE FROM testing_gridstat WHERE round_id = %s", [round_.pk])
        return _run(
            "INSERT INTO testing_gridstat (round_id, grid_id, path, expected, sampled, resulted, negative, recheck, "
            "positive, resample, refreshed_at) "
            f"SELECT %s, x.grid_id, g.path, count(*), count(*) - {count('not_tested')}, "
            f"count(*) - {count('not_tested', 'pending')}, {count('negative')}, "
            f"{count('recheck_required', 'recheck_pending')}, {count('positive')}, {count('resample_required')}, %s "
            f"FROM ({sql}) x JOIN geo_jurisdiction g ON g.id = x.grid_id GROUP BY x.grid_id, g.path",
            [round_.pk, now, *params],
        )


def stats_refresh_later(round_: Round) -> None:
    from fangkong.common.jobs import enqueue

    # Called after the import's own transaction: without Redis it runs here and now, with Redis a
    # worker recounts while the caller goes on.
    enqueue("fangkong.testing.bulk.stats_refresh", round_id=round_.pk)


def untested_sql(round_: Round, within: str) -> tuple[str, list]:
    sql, params = status_sql(round_, within=within)
    return f"SELECT id FROM ({sql}) x WHERE status = 'not_tested'", params


def statuses_for(round_: Round, person_ids: list[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    sql, params = status_sql(round_)
    marks = ", ".join(["%s"] * len(person_ids))
    return dict(
        _rows(f"SELECT id, status FROM ({sql}) x WHERE id IN ({marks})", [*params, *person_ids])
    )


def counts_by_status(round_: Round, within: str | None = None) -> dict[str, int]:
    sql, params = status_sql(round_, within=within)
    found = defaultdict(
        int, _rows(f"SELECT status, count(*) FROM ({sql}) x GROUP BY status", params)
    )
    return dict(found)
