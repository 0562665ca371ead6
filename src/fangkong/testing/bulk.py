"""The set-based engine of mass testing: sample and result files, pool outcomes, statuses, grid counts.

Ten million swabs a day cannot go through the ORM row by row. Files land in a bare staging table
(PostgreSQL: the raw lines by COPY, split and checked in SQL; SQLite: parsed in Python and
inserted with executemany), are validated and joined to the registry in SQL, and move to the
real tables with one INSERT … SELECT each. Every row keeps its file line, so a bad row comes back
with its line and reason while the good rows go in; unique keys make a re-import change nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import events
from fangkong.common.models import Alert, ImportJob

from .models import Round

log = logging.getLogger(__name__)
LOCAL = ZoneInfo("Asia/Shanghai")
SAMPLE_COLUMNS = ["tube_barcode", "id_number", "sampled_at", "site_code"]
RESULT_COLUMNS = ["tube_barcode", "result", "reported_at", "lab_code"]
RESULTS = ("negative", "positive", "invalid")
KEPT_ERRORS = 1000  # the job keeps this many rejected rows in full; the count is always exact
CHUNK = 1 << 20


# Seconds per phase of the last import in this process, for the benchmark and `-v 2`.
TIMINGS: dict[str, float] = {}


class FileError(ValueError):
    """The file as a whole cannot be read (no header, missing columns)."""


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


# --------------------------------------------------------------------------- staging


def _header(first_line: str, required: list[str], optional: list[str]) -> dict[str, int]:
    names = [name.strip().lstrip("\ufeff").lower() for name in next(csv.reader([first_line]), [])]
    missing = [name for name in required if name not in names]
    if missing:
        raise FileError(_("missing columns: %(columns)s") % {"columns": ", ".join(missing)})
    return {name: names.index(name) for name in required + optional if name in names}


def _stage(source, table: str, required: list[str], optional: list[str]) -> int:
    """Land the file in `table(line, raw, ncols, c0..cN)`, one text column per wanted field.

    Returns how many fields a row needs to reach every required column."""
    columns = required + optional
    cols_sql = ", ".join(f"c{i} text" for i in range(len(columns)))
    _drop(table, table + "_raw")
    if _pg():
        index = _stage_pg(source, table, columns, required, optional)
        return max(index[name] for name in required) + 1
    _run(f"CREATE TEMP TABLE {table} (line integer, raw text, ncols integer, {cols_sql})")
    data = source.read()
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        first = next(reader)
    except StopIteration:
        raise FileError(_("the file is empty")) from None
    index = _header(",".join(first), required, optional)
    wanted = [index.get(name) for name in columns]
    placeholders = ", ".join(["%s"] * (3 + len(columns)))
    batch = []
    with connection.cursor() as cursor:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            values = [row[i].strip() if i is not None and i < len(row) else "" for i in wanted]
            batch.append((reader.line_num, ",".join(row), len(row), *values))
            if len(batch) >= 5000:
                cursor.executemany(f"INSERT INTO {table} VALUES ({placeholders})", batch)
                batch = []
        if batch:
            cursor.executemany(f"INSERT INTO {table} VALUES ({placeholders})", batch)
    return max(index[name] for name in required) + 1


def _stage_pg(source, table, columns, required, optional) -> dict[str, int]:
    # One column per line, no quoting or escapes: PostgreSQL does the splitting in C, and a row with
    # a wrong number of fields is a row to reject, not an error that stops COPY.
    raw = table + "_raw"
    started = time.perf_counter()
    _run(f"CREATE TEMP TABLE {raw} (line bigint GENERATED ALWAYS AS IDENTITY, raw text)")
    first = True
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY {raw} (raw) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
        ) as copy,
    ):
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            if isinstance(chunk, str):
                chunk = chunk.encode()
            if first:
                chunk = chunk.removeprefix(b"\xef\xbb\xbf")
                first = False
            copy.write(chunk.replace(b"\r\n", b"\n"))
    TIMINGS["copy"] = time.perf_counter() - started
    head = _rows(f"SELECT raw FROM {raw} WHERE line = 1")
    if not head or not head[0][0]:
        raise FileError(_("the file is empty"))
    index = _header(head[0][0], required, optional)
    fields = ", ".join(
        f"btrim(split_part(raw, ',', {index[name] + 1}), ' \"') AS c{i}"
        if name in index
        else f"'' AS c{i}"
        for i, name in enumerate(columns)
    )
    _run(
        f"CREATE TEMP TABLE {table} AS SELECT line::integer AS line, raw, "
        f"length(raw) - length(replace(raw, ',', '')) + 1 AS ncols, {fields} "
        f"FROM {raw} WHERE line > 1 AND raw IS NOT NULL AND btrim(raw, ' ,') <> ''"
    )
    _drop(raw)
    return index


def _time_map(stg: str, column: str, name: str) -> None:
    """Parse each distinct time text once (a day has at most 86,400), not once per row."""
    _drop(name)
    _run(
        f"CREATE TEMP TABLE {name} (txt text PRIMARY KEY, ts {'timestamptz' if _pg() else 'datetime'})"
    )
    # Every row's text, bad rows too (their times are simply never used): reading only this
    # column keeps PostgreSQL from evaluating the staged rows' other checks twice.
    distinct = [r[0] for r in _rows(f"SELECT DISTINCT {column} FROM {stg}")]
    parsed = [(text, parse_local(text)) for text in distinct]
    good = [(text, _db_datetime(value)) for text, value in parsed if value is not None]
    if _pg():
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {name} (txt, ts) FROM STDIN") as copy,
        ):
            for row in good:
                copy.write_row(row)
    else:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {name} VALUES (%s, %s)", good)
    _analyze(name)


def _collect_errors(sql: str, params=()) -> tuple[int, list[dict], list[dict]]:
    rows = _rows(sql, params)
    errors = [
        {"line": line, "column": column, "value": value, "reason": reason}
        for line, column, value, reason, _raw in rows[:KEPT_ERRORS]
    ]
    rejected = [
        {"line": line, "raw": raw, "reason": reason}
        for line, _c, _v, reason, raw in rows[:KEPT_ERRORS]
    ]
    return len(rows), errors, rejected


def _start_job(*, actor, kind: str, filename: str, path: str) -> ImportJob:
    return ImportJob.objects.create(
        kind=kind,
        filename=filename[:255],
        actor=actor if getattr(actor, "pk", None) else None,
        jurisdiction_path=path,
    )


def _finish(
    job: ImportJob, *, total, created, updated, unchanged, rejected, errors, rows, message, extra
) -> ImportJob:
    job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.total_rows, job.created, job.updated, job.unchanged, job.rejected = (
        total,
        created,
        updated,
        unchanged,
        rejected,
    )
    job.errors, job.rejected_rows, job.message = errors, rows, message
    job.save()
    audit_record(
        actor=job.actor,
        action=Action.IMPORT,
        obj=job,
        jurisdiction_path=job.jurisdiction_path,
        object_repr=f"{job.kind} {job.filename}",
        changes={
            "total": total,
            "created": created,
            "updated": updated,
            "unchanged": unchanged,
            "rejected": rejected,
            **extra,
        },
    )
    return job


def _fail(job: ImportJob, message: str) -> ImportJob:
    job.status = ImportJob.Status.FAILED
    job.finished_at = timezone.now()
    job.message = message
    job.save()
    return job


def _tune() -> None:
    if _pg():
        # Ten million staged rows join ten million people: with the hash in memory that is one
        # pass; at 256 MB it spilled to disk in batches and took three times as long. Only this
        # transaction of this session gets it.
        _run("SET LOCAL work_mem = '1GB'")
        _run("SET LOCAL maintenance_work_mem = '1GB'")


def _scope_sql(round_: Round, column: str = "p.jpath") -> tuple[str, list[str]]:
    paths = list(round_.scope_nodes.values_list("path", flat=True))
    if not paths:
        return "1 = 0", []
    return "(" + " OR ".join(f"{column} LIKE %s" for _ in paths) + ")", [p + "%" for p in paths]


def _home_node(round_: Round):
    node = round_.scope_nodes.select_related("jurisdiction").order_by("path").first()
    return node.jurisdiction if node else None


# --------------------------------------------------------------------------- samples


def import_samples(*, actor, round_: Round, source, filename: str) -> ImportJob:
    home = _home_node(round_)
    job = _start_job(
        actor=actor, kind="testing_samples", filename=filename, path=home.path if home else ""
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
        return _fail(job, str(exc))
    if not stats_done:
        stats_refresh_later(round_)
    return job


def _stats_first_samples(round_: Round) -> None:
    """The grid counts of a round whose only swabs are this file's pool swabs: everyone in scope is
    expected, each distinct person in the file sampled, nobody resulted yet. Same rows as
    stats_refresh would write, without reading the round's samples back."""
    scope, params = _scope_sql(round_)
    in_scope, in_params = _scope_sql(round_, "person_path")
    _run("DELETE FROM testing_gridstat WHERE round_id = %s", [round_.pk])
    _run(
        "INSERT INTO testing_gridstat (round_id, grid_id, path, expected, sampled, resulted, negative, "
        "recheck, positive, resample, refreshed_at) "
        "SELECT %s, e.grid_id, g.path, e.n, COALESCE(d.n, 0), 0, 0, 0, 0, 0, %s "
        f"FROM (SELECT p.grid_id, count(*) AS n FROM people_person p WHERE {scope} GROUP BY p.grid_id) e "
        "JOIN geo_jurisdiction g ON g.id = e.grid_id LEFT JOIN (SELECT grid_id, count(*) AS n FROM ("
        f"SELECT DISTINCT person_id, grid_id FROM fk_s2 WHERE err IS NULL AND {in_scope}) x "
        "GROUP BY grid_id) d ON d.grid_id = e.grid_id",
        [round_.pk, _db_datetime(timezone.now()), *params, *in_params],
    )


def _import_samples(round_: Round, source, home) -> dict:
    r = round_.pk
    need = _stage(source, "fk_stg", SAMPLE_COLUMNS, ["kind"])
    cap = round_.max_pool_size
    # Shape checks first; each later step only looks at rows without an error yet.
    _run(
        "CREATE TEMP TABLE fk_s1 AS SELECT line, raw, c0 AS barcode, upper(replace(c1, ' ', '')) AS id_number, "
        "c2 AS ts_text, c3 AS site_code, CASE WHEN c4 = '' THEN 'pool' ELSE lower(c4) END AS kind, CASE "
        f"WHEN ncols < {need} THEN 'row:' || %s "
        "WHEN c0 = '' THEN 'tube_barcode:' || %s WHEN length(c0) > 40 THEN 'tube_barcode:' || %s "
        "WHEN c1 = '' THEN 'id_number:' || %s WHEN c3 = '' THEN 'site_code:' || %s "
        "WHEN length(c3) > 40 THEN 'site_code:' || %s "
        "WHEN c4 NOT IN ('', 'pool', 'recheck', 'POOL', 'RECHECK') THEN 'kind:' || %s END AS err FROM fk_stg",
        [
            _("too few columns"),
            _("empty"),
            _("longer than 40 characters"),
            _("empty"),
            _("empty"),
            _("longer than 40 characters"),
            _("must be pool or recheck"),
        ],
    )
    _drop("fk_stg")
    _time_map("fk_s1", "ts_text", "fk_ts")
    # One pass joins every row to the registry, its time and any tube already registered.
    _run(
        "CREATE TEMP TABLE fk_s2 AS SELECT s.line, s.raw, s.barcode, s.id_number, s.ts_text, s.site_code, s.kind, "
        "p.id AS person_id, p.grid_id, p.jpath AS person_path, m.ts, t.id AS tube_id, COALESCE(s.err, CASE "
        "WHEN m.ts IS NULL THEN 'sampled_at:' || %s "
        "WHEN p.id IS NULL THEN 'id_number:' || %s "
        "WHEN t.id IS NOT NULL AND t.round_id <> %s THEN 'tube_barcode:' || %s "
        "WHEN t.id IS NOT NULL AND t.kind <> s.kind THEN 'kind:' || %s END) AS err "
        "FROM fk_s1 s LEFT JOIN fk_ts m ON m.txt = s.ts_text "
        "LEFT JOIN people_person p ON p.document_number = s.id_number "
        "LEFT JOIN testing_tube t ON t.barcode = s.barcode",
        [
            _("not a time YYYY-MM-DD HH:MM:SS"),
            _("nobody in the registry has this number"),
            r,
            _("the tube belongs to another round"),
            _("differs from the tube's kind"),
        ],
    )
    _drop("fk_s1", "fk_ts")
    _analyze("fk_s2")
    # New tubes, one row each; a tube whose rows disagree, or holds more swabs than a pool may, is
    # rejected whole rather than half-registered.
    _run(
        "CREATE TEMP TABLE fk_tubes AS SELECT barcode, min(site_code) AS site_code, min(kind) AS kind, "
        "count(*) AS n, count(DISTINCT person_id) AS np, min(ts) AS first_ts, max(ts) AS last_ts, CASE "
        "WHEN min(kind) <> max(kind) THEN 'kind:' || %s "
        "WHEN min(site_code) <> max(site_code) THEN 'site_code:' || %s "
        "WHEN min(kind) = 'recheck' AND count(DISTINCT person_id) > 1 THEN 'kind:' || %s "
        f"WHEN count(DISTINCT person_id) > {cap} THEN 'tube_barcode:' || %s END AS err "
        "FROM fk_s2 WHERE err IS NULL AND tube_id IS NULL GROUP BY barcode",
        [
            _("rows of one tube disagree on the kind"),
            _("rows of one tube disagree on the site"),
            _("a re-check tube holds one person"),
            _("more swabs than the pool size %(size)s") % {"size": cap},
        ],
    )
    bad_tubes = _rows("SELECT count(*) FROM fk_tubes WHERE err IS NOT NULL")[0][0]
    if bad_tubes:
        _run(
            "UPDATE fk_s2 SET err = (SELECT b.err FROM fk_tubes b WHERE b.barcode = fk_s2.barcode) "
            "WHERE err IS NULL AND tube_id IS NULL AND barcode IN (SELECT barcode FROM fk_tubes WHERE err IS NOT NULL)"
        )
    # A round's first swabs, all into pools: every person was not tested before, so the grid counts
    # follow from this file alone (below) instead of a recount of the round.
    fresh = not _rows("SELECT 1 FROM testing_tube WHERE round_id = %s LIMIT 1", [r]) and not _rows(
        "SELECT 1 FROM fk_s2 WHERE err IS NULL AND kind <> 'pool' LIMIT 1"
    )
    # Unknown sites are created in the round's home node; an operator moves them later.
    sites_created = _run(
        "INSERT INTO testing_site (code, name, kind, jurisdiction_id, jpath, address, opening_hours, desks, samplers) "
        "SELECT site_code, site_code, 'fixed', %s, %s, '', '', 1, 2 FROM fk_tubes WHERE err IS NULL "
        "GROUP BY site_code ON CONFLICT (code) DO NOTHING",
        [home.pk, home.path],
    )
    tubes_created = _run(
        "INSERT INTO testing_tube (barcode, round_id, site_id, jpath, kind, subject, capacity, members, status, "
        "opened_at, sampled_at, result, subject_label) "
        "SELECT b.barcode, %s, s.id, s.jpath, b.kind, 'person', CASE WHEN b.kind = 'recheck' THEN 1 ELSE %s END, "
        "b.np, 'closed', b.first_ts, b.last_ts, '', '' FROM fk_tubes b JOIN testing_site s ON s.code = b.site_code "
        "WHERE b.err IS NULL ON CONFLICT (barcode) DO NOTHING",
        [r, round_.pool_size],
    )
    # Does any swab appear twice (a repeated line, or more for a tube already registered)?
    repeats = bool(
        _rows("SELECT 1 FROM fk_tubes WHERE err IS NULL AND n <> np LIMIT 1")
        or _rows("SELECT 1 FROM fk_s2 WHERE err IS NULL AND tube_id IS NOT NULL LIMIT 1")
    )
    _drop("fk_tubes")
    new_samples = _insert_samples(r, repeats)
    # Tubes that existed before this file (a re-import, or more rows for one tube): recount members.
    _run(
        "UPDATE testing_tube SET members = (SELECT count(*) FROM testing_sample x WHERE x.tube_id = testing_tube.id) "
        "WHERE id IN (SELECT tube_id FROM fk_s2 WHERE err IS NULL AND tube_id IS NOT NULL)"
    )
    rechecks_sampled = _run(
        "UPDATE testing_recheck SET status = 'sampled', recheck_tube_id = t.id, updated_at = %s "
        "FROM fk_s2 s JOIN testing_tube t ON t.barcode = s.barcode "
        "WHERE s.err IS NULL AND s.kind = 'recheck' AND testing_recheck.round_id = %s "
        "AND testing_recheck.person_id = s.person_id AND testing_recheck.status = 'pending'",
        [_db_datetime(timezone.now()), r],
    )
    if fresh:
        _stats_first_samples(round_)
    total = _rows("SELECT count(*) FROM fk_s2")[0][0]
    rejected, errors, rows = _collect_errors(
        "SELECT line, split_part_col, CASE WHEN split_part_col = 'row' THEN raw WHEN split_part_col = 'id_number' "
        "THEN id_number WHEN split_part_col = 'sampled_at' THEN ts_text WHEN split_part_col = 'site_code' THEN site_code "
        "WHEN split_part_col = 'kind' THEN kind ELSE barcode END, reason, raw FROM ("
        f"SELECT line, raw, barcode, id_number, ts_text, site_code, kind, {_before_colon('err')} AS split_part_col, "
        f"{_after_colon('err')} AS reason FROM fk_s2 WHERE err IS NOT NULL) e ORDER BY line"
    )
    _drop("fk_s2")
    good = total - rejected
    return dict(
        total=total,
        created=new_samples,
        updated=0,
        unchanged=good - new_samples,
        rejected=rejected,
        errors=errors,
        rows=rows,
        message=_("%(samples)s samples in %(tubes)s new tubes; %(rejected)s rows rejected")
        % {"samples": new_samples, "tubes": tubes_created, "rejected": rejected},
        stats_done=fresh,
        extra={
            "round": round_.code,
            "tubes_created": tubes_created,
            "sites_created": sites_created,
            "rechecks_sampled": rechecks_sampled,
        },
    )


# A file at least this large, and at least as large as the sample table, is loaded with the
# table's secondary indexes dropped and rebuilt after: one sort each instead of ten million
# random index insertions (the first file of a big round into an empty table: 4 s → ~1.5 s per
# million). The import's transaction holds the table's lock until its indexes are back.
BULK_SAMPLES = 200_000
SAMPLE_INDEXES = (
    (
        "ALTER TABLE testing_sample DROP CONSTRAINT sample_tube_person_unique",
        "ALTER TABLE testing_sample ADD CONSTRAINT sample_tube_person_unique UNIQUE (tube_id, person_id)",
    ),
    (
        "DROP INDEX sample_person_round",
        "CREATE INDEX sample_person_round ON testing_sample (person_id, round_id)",
    ),
)


def _insert_samples(r: int, repeats: bool) -> int:
    columns = (
        "INSERT INTO testing_sample (round_id, tube_id, person_id, sampled_at, kind, tube_open) "
    )
    if _pg():
        incoming = _rows("SELECT count(*) FROM fk_s2 WHERE err IS NULL")[0][0]
        # pg_class.reltuples is -1 before the first ANALYZE: then judge by the table's size.
        existing = _rows(
            "SELECT GREATEST(reltuples, pg_relation_size(oid) / 64.0) FROM pg_class "
            "WHERE oid = 'testing_sample'::regclass"
        )[0][0]
        if incoming >= BULK_SAMPLES and incoming >= existing:
            for drop, _create in SAMPLE_INDEXES:
                _run(drop)
            # Without the unique index there is no ON CONFLICT: leave out swabs already there (an
            # anti-join against the small table) and repeats inside the file (first line wins;
            # the sort that finds them is skipped when the tube counts show there are none).
            rows = (
                "SELECT DISTINCT ON (t.id, s.person_id) t.id AS tube_id, s.person_id, s.ts, s.kind "
                "FROM fk_s2 s JOIN testing_tube t ON t.barcode = s.barcode WHERE s.err IS NULL "
                "ORDER BY t.id, s.person_id, s.line"
                if repeats
                else "SELECT t.id AS tube_id, s.person_id, s.ts, s.kind FROM fk_s2 s "
                "JOIN testing_tube t ON t.barcode = s.barcode WHERE s.err IS NULL"
            )
            n = _run(
                f"{columns} SELECT %s, x.tube_id, x.person_id, x.ts, x.kind, FALSE FROM ({rows}) x "
                "WHERE NOT EXISTS (SELECT 1 FROM testing_sample o WHERE o.tube_id = x.tube_id "
                "AND o.person_id = x.person_id)",
                [r],
            )
            for _drop_sql, create in SAMPLE_INDEXES:
                _run(create)
            return n
    return _run(
        f"{columns} SELECT %s, t.id, s.person_id, s.ts, s.kind, FALSE FROM fk_s2 s "
        "JOIN testing_tube t ON t.barcode = s.barcode "
        "WHERE s.err IS NULL ON CONFLICT (tube_id, person_id) DO NOTHING",
        [r],
    )


def _before_colon(col: str) -> str:
    return f"substr({col}, 1, {_instr(col)} - 1)"


def _after_colon(col: str) -> str:
    return f"substr({col}, {_instr(col)} + 1)"


def _instr(col: str) -> str:
    return f"strpos({col}, ':')" if _pg() else f"instr({col}, ':')"


# --------------------------------------------------------------------------- results


def import_results(*, actor, source, filename: str) -> ImportJob:
    path = actor.jurisdiction.path if getattr(actor, "jurisdiction", None) else ""
    job = _start_job(actor=actor, kind="testing_results", filename=filename, path=path)
    try:
        with transaction.atomic():
            _tune()
            result = _import_results(actor, source)
            rounds = result.pop("rounds")
            job = _finish(job, **result)
            committing = time.perf_counter()
        TIMINGS["commit"] = time.perf_counter() - committing
    except FileError as exc:
        return _fail(job, str(exc))
    for round_ in Round.objects.filter(pk__in=rounds):
        stats_refresh_later(round_)
    return job


def _import_results(actor, source) -> dict:
    need = _stage(source, "fk_stg", RESULT_COLUMNS, ["ct_orf1ab", "ct_n"])
    num = "'^[0-9]{1,3}([.][0-9]{1,2})?$'"
    regex = (lambda col: f"{col} ~ {num}") if _pg() else (lambda col: f"_fk_num({col})")
    if not _pg():
        connection.connection.create_function("_fk_num", 1, _is_ct, deterministic=True)
    _run(
        "CREATE TEMP TABLE fk_r1 AS SELECT line, raw, c0 AS barcode, lower(c1) AS result, c2 AS ts_text, "
        "c3 AS lab_code, NULLIF(c4, '') AS ct1, NULLIF(c5, '') AS ct2, CASE "
        f"WHEN ncols < {need} THEN 'row:' || %s "
        " WHEN c0 = '' THEN 'tube_barcode:' || %s "
        "WHEN lower(c1) NOT IN ('negative', 'positive', 'invalid') THEN 'result:' || %s "
        "WHEN c3 = '' THEN 'lab_code:' || %s WHEN length(c3) > 40 THEN 'lab_code:' || %s "
        f"WHEN c4 <> '' AND NOT {regex('c4')} THEN 'ct_orf1ab:' || %s "
        f"WHEN c5 <> '' AND NOT {regex('c5')} THEN 'ct_n:' || %s END AS err FROM fk_stg",
        [
            _("too few columns"),
            _("empty"),
            _("must be negative, positive or invalid"),
            _("empty"),
            _("longer than 40 characters"),
            _("not a Ct value"),
            _("not a Ct value"),
        ],
    )
    _drop("fk_stg")
    _time_map("fk_r1", "ts_text", "fk_ts")
    _run(
        "CREATE TEMP TABLE fk_r2 AS SELECT s.*, m.ts, t.id AS tube_id, t.round_id, t.result AS old_result, "
        "ROW_NUMBER() OVER (PARTITION BY s.barcode, CASE WHEN s.err IS NULL AND m.ts IS NOT NULL THEN 0 ELSE s.line END "
        "ORDER BY s.line) AS nth FROM fk_r1 s "
        "LEFT JOIN fk_ts m ON m.txt = s.ts_text LEFT JOIN testing_tube t ON t.barcode = s.barcode"
    )
    _drop("fk_r1", "fk_ts")
    _run(
        "UPDATE fk_r2 SET err = CASE WHEN ts IS NULL THEN 'reported_at:' || %s "
        "WHEN tube_id IS NULL THEN 'tube_barcode:' || %s WHEN nth > 1 THEN 'tube_barcode:' || %s "
        "WHEN old_result <> '' AND old_result <> result THEN 'result:' || %s || old_result END "
        "WHERE err IS NULL AND (ts IS NULL OR tube_id IS NULL OR nth > 1 OR (old_result <> '' AND old_result <> result))",
        [
            _("not a time YYYY-MM-DD HH:MM:SS"),
            _("no such tube"),
            _("the tube appears earlier in the file"),
            _("the tube is already reported as "),
        ],
    )
    _analyze("fk_r2")
    home = getattr(actor, "jurisdiction", None) or _root_node()
    labs_created = _run(
        "INSERT INTO testing_lab (code, name, jurisdiction_id, jpath, daily_capacity) "
        "SELECT lab_code, lab_code, %s, %s, 0 FROM fk_r2 WHERE err IS NULL GROUP BY lab_code ON CONFLICT (code) DO NOTHING",
        [home.pk, home.path],
    )
    _drop("fk_chg")
    _run(
        "CREATE TEMP TABLE fk_chg AS SELECT r.tube_id, r.round_id, r.result, r.ts, l.id AS lab_id, r.ct1, r.ct2 "
        "FROM fk_r2 r JOIN testing_lab l ON l.code = r.lab_code WHERE r.err IS NULL AND r.old_result = ''"
    )
    _analyze("fk_chg")
    changed = _run(
        "UPDATE testing_tube SET result = c.result, status = 'resulted', reported_at = c.ts, "
        "tested_at = COALESCE(testing_tube.tested_at, c.ts), lab_id = c.lab_id, "
        "ct_orf1ab = CAST(c.ct1 AS numeric), ct_n = CAST(c.ct2 AS numeric) "
        "FROM fk_chg c WHERE testing_tube.id = c.tube_id"
    )
    started = time.perf_counter()
    effects = apply_results("fk_chg")
    TIMINGS["outcomes"] = time.perf_counter() - started
    rounds = [row[0] for row in _rows("SELECT DISTINCT round_id FROM fk_r2 WHERE err IS NULL")]
    # Rounds whose grid counts this file can move on by itself need no recount afterwards.
    rounds = [r for r in rounds if not _stats_results_delta(r)]
    total = _rows("SELECT count(*) FROM fk_r2")[0][0]
    rejected, errors, rows = _collect_errors(
        "SELECT line, col, CASE WHEN col = 'row' THEN raw WHEN col = 'result' THEN result "
        "WHEN col = 'reported_at' THEN ts_text WHEN col = 'lab_code' THEN lab_code WHEN col = 'ct_orf1ab' THEN ct1 "
        "WHEN col = 'ct_n' THEN ct2 ELSE barcode END, reason, raw FROM ("
        f"SELECT line, raw, barcode, result, ts_text, lab_code, ct1, ct2, {_before_colon('err')} AS col, "
        f"{_after_colon('err')} AS reason FROM fk_r2 WHERE err IS NOT NULL) e ORDER BY line"
    )
    _drop("fk_r2", "fk_chg")
    good = total - rejected
    return dict(
        total=total,
        created=0,
        updated=changed,
        unchanged=good - changed,
        rejected=rejected,
        errors=errors,
        rows=rows,
        message=_("%(n)s results recorded; %(p)s positive pools; %(rejected)s rows rejected")
        % {"n": changed, "p": effects["positive_pools"], "rejected": rejected},
        rounds=rounds,
        extra={"labs_created": labs_created, **effects},
    )


def _stats_results_delta(round_id: int) -> bool:
    """Move the round's grid counts by this file's results, when that is exact: the counts exist,
    every person counted as sampled has exactly one swab in the round (the tubes' members add up
    to the sampled count, so no one has a second swab or a swab outside the scope), and every
    newly reported tube is a pool. Then each member of a reported tube goes from pending to the
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
    if _rows(
        "SELECT 1 FROM fk_chg c JOIN testing_tube t ON t.id = c.tube_id "
        "WHERE c.round_id = %s AND t.kind <> 'pool' LIMIT 1",
        [round_id],
    ):
        return False
    _run(
        "UPDATE testing_gridstat SET resulted = resulted + d.n, negative = negative + d.neg, "
        "recheck = recheck + d.pos, resample = resample + d.inv, refreshed_at = %s FROM ("
        "SELECT p.grid_id, count(*) AS n, "
        "SUM(CASE WHEN c.result = 'negative' THEN 1 ELSE 0 END) AS neg, "
        "SUM(CASE WHEN c.result = 'positive' THEN 1 ELSE 0 END) AS pos, "
        "SUM(CASE WHEN c.result = 'invalid' THEN 1 ELSE 0 END) AS inv "
        # CROSS JOIN keeps SQLite's join order (the file's tubes first, then their swabs): left
        # free, it scanned every person and probed the tubes by round, 200,000 × 20,000 rows.
        "FROM fk_chg c CROSS JOIN testing_sample s CROSS JOIN people_person p "
        "WHERE s.tube_id = c.tube_id AND p.id = s.person_id AND c.round_id = %s "
        "GROUP BY p.grid_id) d "
        "WHERE testing_gridstat.round_id = %s AND testing_gridstat.grid_id = d.grid_id",
        [_db_datetime(timezone.now()), round_id, round_id],
    )
    return True


def _is_ct(value) -> bool:
    try:
        return value is not None and 0 <= float(value) < 1000 and len(value) <= 6
    except ValueError:
        return False


def _root_node():
    from fangkong.geo.models import Jurisdiction

    return Jurisdiction.objects.order_by("depth", "path").first()


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


def apply_results_for(tube_ids: list[int]) -> dict:
    """The same outcomes for a few tubes reported through the API."""
    _drop("fk_one")
    _run("CREATE TEMP TABLE fk_one (tube_id bigint)")
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO fk_one VALUES (%s)", [(t,) for t in tube_ids])
    try:
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
    with transaction.atomic():
        _tune()
        if _pg():
            n = 0
            with connection.cursor() as cursor:
                copy_sql = cursor.cursor.mogrify(
                    f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)", params
                )
                with cursor.cursor.copy(copy_sql) as copy:
                    for chunk in copy:
                        data = bytes(chunk)
                        n += data.count(b"\n")
                        out.write(data.decode() if isinstance(out, io.TextIOBase) else data)
            return n - 1
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id_number", "status"])
        n = 0
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            while rows := cursor.fetchmany(10000):
                writer.writerows(rows)
                n += len(rows)
        return n


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
