"""What reported tubes mean for their people: controls, re-checks, findings, alerts."""

from __future__ import annotations

from collections import Counter

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.common import events
from fangkong.common.models import Alert

from .base import _analyze, _db_datetime, _drop, _pg, _rows, _run


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
