"""Sample files: swabs matched to the registry, new tubes registered, swabs stored by COPY."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.common.dbroles import owns
from fangkong.common.imports import job_broken, job_fail, job_start, max_stored_errors, reason
from fangkong.common.models import ImportJob
from fangkong.common.scope import require

from .. import engine, roles
from ..engine import TIMINGS, FileError, timed
from ..models import GridStat, Round, Site, Tube
from .base import SAMPLE_COLUMNS, _db_datetime, _drop, _pg, _rows, _run, parse_local
from .jobs import _finish, _home_node, _in_batches, _np, _scope_sql, _take, _temp, _tune
from .statuses import stats_refresh_later


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
    # The file's bytes (570 MB for ten million rows) are not needed past the parse.
    del data
    n = len(parsed)
    cols = parsed.columns
    errors = engine.Errors(n)
    with timed("check"):
        barcode, site = cols["tube_barcode"], cols["site_code"]
        number = pc.utf8_upper(pc.replace_substring(cols["id_number"], " ", ""))
        kind = pc.utf8_lower(cols["kind"])
        recheck = _np(pc.equal(kind, "recheck"))
        blen, slen = _np(pc.utf8_length(barcode)), _np(pc.utf8_length(site))
        errors.add(blen == 0, "tube_barcode", reason("empty"))
        errors.add(blen > 40, "tube_barcode", reason("longer than 40 characters"))
        errors.add(_np(pc.equal(cols["id_number"], "")), "id_number", reason("empty"))
        errors.add(slen == 0, "site_code", reason("empty"))
        errors.add(slen > 40, "site_code", reason("longer than 40 characters"))
        errors.add(
            ~_np(pc.is_in(kind, value_set=pa.array(["", "pool", "recheck"]))),
            "kind",
            reason("must be pool or recheck"),
        )
        micros = engine.local_times(cols["sampled_at"], parse_local)
        errors.add(micros < 0, "sampled_at", reason("not a time YYYY-MM-DD HH:MM:SS"))
    with timed("registry"):
        at, people, whole_registry = engine.lookup(
            number,
            table="people_person",
            key="document_number",
            columns=REGISTRY_COLUMNS,
            prefetched=registry,
        )
        errors.add(at < 0, "id_number", reason("nobody in the registry has this number"))
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
                reason("the tube belongs to another round"),
            )
            errors.add(
                exists & (known_recheck[np.maximum(tat, 0)] != recheck),
                "kind",
                reason("differs from the tube's kind"),
            )
        fresh = not Tube.objects.filter(round=round_).exists()
        new_tubes = _new_tubes(
            round_, home, errors, barcode, site, recheck, person_id, grid_id, micros, exists
        )
    tube_id = np.where(exists, _take(known, "id", tat), new_tubes["row_tube"])
    errors.add(
        errors.good & (tube_id < 0),
        "tube_barcode",
        reason("registered meanwhile by a scanner; import again"),
    )
    good = errors.good
    # Every error is known now: keep the rejected lines and let the file's text columns go
    # before ten million swabs are packed for COPY (the import must stay well under 4 GB).
    rejected = engine.collect(parsed, errors, max_stored_errors())
    total = n + len(parsed.short)
    columns = list(parsed.columns)
    del parsed, cols, barcode, site, number, kind
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
    good_n = total - rejected.count
    return dict(
        columns=columns,
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
        (rc_min != rc_max, "kind", reason("rows of one tube disagree on the kind")),
        (s_min != s_max, "site_code", reason("rows of one tube disagree on the site")),
        ((rc_max == 1) & (distinct > 1), "kind", reason("a re-check tube holds one person")),
        (
            distinct > cap,
            "tube_barcode",
            reason("more swabs than the pool size %(size)s") % {"size": cap},
        ),
    ]
    bad = np.zeros(k, dtype=bool)
    for mask, column, why in tube_checks:
        full = np.zeros(n, dtype=bool)
        full[rows] = (mask & ~bad)[code]
        errors.add(full, column, why)
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
    direct = _copy_new_tubes(round_, new) if _pg() and len(ok) >= BULK_TUBES else None
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
    """A round's million new tubes straight into the table, their ids drawn from the sequence
    beforehand: no temporary table, no INSERT … SELECT, no million barcodes sent back. No table
    lock and the indexes kept, so the desks go on opening and filling tubes meanwhile (the ids
    need not be one block: each is a nextval of its own). None, and nothing written, when a
    barcode was registered by a scanner since the lookup: the caller takes the path that leaves
    such tubes out."""
    n = new.num_rows
    with connection.cursor() as cursor:
        # The sequence looked up once: in the select list pg_get_serial_sequence ran per row (a
        # million ids: 8.3 s against 2.0 s in psql on a loaded machine, lane h-round).
        cursor.execute("SELECT pg_get_serial_sequence('testing_tube', 'id')")
        sequence = cursor.fetchone()[0]
    ids = _np(
        engine.select(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
            [sequence, n],
            [("id", pa.int64())],
        )
        .column("id")
        .combine_chunks()
    ).astype(np.int64)
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


# At least this many new tubes go in by COPY with ids drawn beforehand (below it, the temporary
# table and INSERT … ON CONFLICT cost less than a round trip for the ids).
BULK_TUBES = 100_000


def _ts() -> str:
    return "timestamptz" if _pg() else "datetime"


# A load at least this large, and at least as large as the sample table was, is followed by
# ANALYZE. The indexes stay in place during every load: dropping them took the table's
# ACCESS EXCLUSIVE lock until the import committed, and every sampling desk waited for it.
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
    analyse = len(rows) >= BULK_SAMPLES and len(rows) >= engine.estimated_rows("testing_sample")
    # Into the live table with its indexes, under ROW EXCLUSIVE only: a desk's swab meets this
    # transaction only on the same (tube, person), and import rows are never in the open-tube index.
    # Ids come from the column default, so they interleave with the desks' without a lock.
    _copy_samples(r, rows, tube_id, person_id, micros, recheck)
    if analyse and owns("testing_sample"):
        # Autovacuum would take minutes to notice ten million new rows; until then the planner
        # thinks the round has a few thousand swabs and sizes every later hash for those.
        # ANALYZE's lock (SHARE UPDATE EXCLUSIVE) lets the desks write.
        _run("ANALYZE testing_sample")
    return len(rows), inserted


def _copy_samples(r, rows, tube_id, person_id, micros, recheck) -> None:
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
            engine.copy_binary("testing_sample", SAMPLE_FIELDS, fields)


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
