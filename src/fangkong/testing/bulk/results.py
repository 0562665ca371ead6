"""Result files: tubes reported, grid counts moved by the file's results."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.common.imports import job_broken, job_fail, job_start, max_stored_errors, reason
from fangkong.common.models import ImportJob
from fangkong.common.scope import actor_path, require

from .. import engine, roles
from ..engine import TIMINGS, FileError, timed
from ..models import Lab, Round
from .base import RESULT_COLUMNS, RESULTS, _analyze, _db_datetime, _drop, _rows, _run, parse_local
from .jobs import _finish, _np, _root_node, _take, _temp, _tune
from .outcomes import apply_results, turnaround_add
from .samples import _ts
from .statuses import stats_refresh_later


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
        errors.add(_np(pc.equal(barcode, "")), "tube_barcode", reason("empty"))
        errors.add(
            ~_np(pc.is_in(result, value_set=pa.array(list(RESULTS)))),
            "result",
            reason("must be negative, positive or invalid"),
        )
        errors.add(llen == 0, "lab_code", reason("empty"))
        errors.add(llen > 40, "lab_code", reason("longer than 40 characters"))
        for name in ("ct_orf1ab", "ct_n"):
            value = cols[name]
            bad = _np(pc.not_equal(value, "")) & ~_np(pc.match_substring_regex(value, CT))
            errors.add(bad, name, reason("not a Ct value"))
        micros = engine.local_times(cols["reported_at"], parse_local)
        errors.add(micros < 0, "reported_at", reason("not a time YYYY-MM-DD HH:MM:SS"))
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
        errors.add(at < 0, "tube_barcode", reason("no such tube"))
        good = np.flatnonzero(errors.good)
        _u, first = np.unique(at[good], return_index=True)
        later = np.ones(len(good), dtype=bool)
        later[first] = False
        errors.set_rows(good[later], "tube_barcode", reason("the tube appears earlier in the file"))
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
            errors.add(
                mask,
                "result",
                reason("the tube is already reported as %(result)s") % {"result": previous},
            )
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
        # The tube indexes stay: setting them aside locked the table against every desk until
        # the import committed. Each reported tube is locked alone; the desks fill open ones.
        with timed("update tubes"):
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
