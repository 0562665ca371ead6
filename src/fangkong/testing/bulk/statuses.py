"""Each person's status in a round, the status export and the grid counts."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connection, transaction
from django.utils import timezone

from .. import engine
from ..models import Round
from . import samples
from .base import _db_datetime, _pg, _rows, _run
from .jobs import _np, _scope_sql, _tune

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
    big = engine.estimated_rows("testing_sample") >= samples.PREFETCH_ROWS
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
