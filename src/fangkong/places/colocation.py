"""The venue rule over the recorded scans: a case's venue visits → the other visitors of the same
place at the same time become leads on their grids, the same day.

The big-data venue rule (tracing.engine.rules.venue) reads an exported file; the scans recorded
here are in the database already, so the same rule is run as SQL over the table when a case is
confirmed (an index on (place, time) makes it a few range scans), and the result goes through
tracing's own lead path (tracing.colocation.leads_from_colocation: merge, link to the case,
push to the grid). A run is recorded like any co-location run, so the co-location page shows it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

import pyarrow as pa
from django.db import transaction
from django.utils import timezone

from fangkong.people.models import Person

from .models import Scan

log = logging.getLogger(__name__)
MAX_GAP_MINUTES = 30  # the engine's default for venue co-visits
DATA = "places:scan"  # what a run over the recorded scans names as its data


def _local_naive(moment: dt.datetime) -> dt.datetime:
    from fangkong.tracing.services import LOCAL

    return timezone.localtime(moment, LOCAL).replace(tzinfo=None, microsecond=0)


def _resolve(rows: list[dict]) -> None:
    """Scans whose number matched nobody then: look again (the registry may know it now)."""
    phones = {r["phone"] for r in rows if r["person_id"] is None and r["phone"]}
    ids = {r["id_number"] for r in rows if r["person_id"] is None and r["id_number"]}
    by_phone, by_id = {}, {}
    if phones:
        for pid, phone in (
            Person.objects.filter(phone__in=phones).order_by("-id").values_list("id", "phone")
        ):
            by_phone[phone] = pid
    if ids:
        for pid, number in Person.objects.filter(document_number__in=ids).values_list(
            "id", "document_number"
        ):
            by_id[number] = pid
    for r in rows:
        if r["person_id"] is None:
            r["person_id"] = by_phone.get(r["phone"]) or by_id.get(r["id_number"])


def venue_contacts(case, *, max_gap_minutes: float = MAX_GAP_MINUTES, now=None) -> pa.Table:
    """The engine's result columns for one case: each other visitor of a place the case's person
    entered inside the infectious window, within the gap of the case's stay (entry to exit)."""
    empty = pa.table(
        {
            "index_person_id": pa.array([], pa.string()),
            "contact_person_id": pa.array([], pa.string()),
            "episodes": pa.array([], pa.int64()),
            "overlap_minutes": pa.array([], pa.float64()),
            "first_contact_at": pa.array([], pa.timestamp("us")),
        }
    )
    if case.window_start is None:
        return empty
    end = case.window_end or now or timezone.now()
    person = case.person
    own = Scan.objects.filter(scanned_at__gte=case.window_start, scanned_at__lte=end)
    numbers = [n for n in (person.phone,) if n]
    own = (
        own.filter(person_id=person.pk)
        | (own.filter(person__isnull=True, phone__in=numbers) if numbers else own.none())
        | (
            own.filter(person__isnull=True, id_number=person.document_number)
            if person.document_number
            else own.none()
        )
    )
    gap = dt.timedelta(minutes=max_gap_minutes)
    stays = list(own.values_list("id", "place_id", "scanned_at", "left_at"))
    if not stays:
        return empty
    from django.db.models import Q

    near = Q(pk__in=[])
    for _id, place_id, entered, left in stays:
        near |= Q(
            place_id=place_id,
            scanned_at__gte=entered - gap,
            scanned_at__lte=(left or entered) + gap,
        )
    own_ids = {s[0] for s in stays}
    rows = [
        r
        for r in Scan.objects.filter(near).values(
            "id", "person_id", "phone", "id_number", "scanned_at"
        )
        if r["id"] not in own_ids
    ]
    _resolve(rows)
    episodes, first = defaultdict(int), {}
    for r in rows:
        pid = r["person_id"]
        if pid is None or pid == person.pk:
            continue
        episodes[pid] += 1
        first[pid] = min(first.get(pid, r["scanned_at"]), r["scanned_at"])
    contacts = sorted(episodes)
    return pa.table(
        {
            "index_person_id": pa.array([str(person.pk)] * len(contacts), pa.string()),
            "contact_person_id": pa.array([str(c) for c in contacts], pa.string()),
            "episodes": pa.array([episodes[c] for c in contacts], pa.int64()),
            "overlap_minutes": pa.array([None] * len(contacts), pa.float64()),
            "first_contact_at": pa.array(
                [_local_naive(first[c]) for c in contacts], pa.timestamp("us")
            ),
        }
    )


def venue_leads_for_case(*, case_id: int, max_gap_minutes: float = MAX_GAP_MINUTES) -> dict:
    """The job run when a case is confirmed: its venue co-visitors become leads, pushed to their
    grids; recorded as a co-location run over the scans table."""
    from fangkong.tracing.colocation import leads_from_colocation
    from fangkong.tracing.models import Case, Classification, ColocationRun, Origin

    case = Case.objects.select_related("person").filter(pk=case_id).first()
    if case is None or case.classification in (
        Classification.SUSPECTED,
        Classification.EXCLUDED,
    ):
        return {}
    started = timezone.now()
    result = venue_contacts(case, max_gap_minutes=max_gap_minutes)
    if result.num_rows == 0:
        return {"rows": 0}
    with transaction.atomic():
        stats = leads_from_colocation(actor=None, result=result, rule=Origin.VENUE)
        ColocationRun.objects.create(
            rule=Origin.VENUE,
            data=DATA,
            params={"max_gap_minutes": max_gap_minutes},
            case_ids=[case.pk],
            case=case,
            jpath=case.jpath,
            status=ColocationRun.Status.DONE,
            progress=100,
            stage="done",
            index_persons=1,
            rows=result.num_rows,
            leads_created=stats["created"],
            leads_merged=stats["merged"],
            pushed=stats["pushed"],
            message=f"unknown={stats['unknown']} cases_skipped={stats['cases_skipped']} "
            f"links={stats['links']}",
            started_at=started,
            finished_at=timezone.now(),
        )
    return stats


def on_case(*, case_id, classification, **_payload) -> None:
    """tracing.case_opened / case_reclassified: a confirmed or asymptomatic case gets its venue
    leads once its transaction commits (queued; in-process without Redis)."""
    from fangkong.common import jobs
    from fangkong.tracing.models import Classification

    if classification in (Classification.SUSPECTED, Classification.EXCLUDED):
        return
    if not Scan.objects.exists():
        return

    def run():
        try:
            jobs.enqueue("fangkong.places.colocation.venue_leads_for_case", case_id=case_id)
        except Exception:  # the case is committed; a failed lead run must not undo it
            log.exception("venue leads for case %s failed", case_id)

    transaction.on_commit(run)
