"""Co-location results → contact leads, the runs behind the co-location page, and the fast path
from a newly confirmed case to leads on the grid workers' lists.

The engine's `person_id` in every input file is the primary key of `people.Person`, written as
decimal text (or as an integer column): the export that feeds the telecom, venue-code and
manifest data resolves phone numbers and ID numbers to registry keys once, upstream, so the join
here is on the key and no personal data sits in the big files. Rows whose contact is not in the
registry are counted and dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fangkong.audit.models import Action, AuditEntry
from fangkong.audit.services import audit_fields, audit_record
from fangkong.people.models import Person

from .models import (
    Case,
    Classification,
    ColocationRun,
    Contact,
    ContactKind,
    ContactLink,
    LeadState,
    Origin,
    Setting,
)
from .services import LOCAL, lead_merge, leads_push

log = logging.getLogger(__name__)
SETTING_OF_RULE = {
    Origin.CELL: Setting.COLOCATION,
    Origin.VENUE: Setting.VENUE,
    Origin.TRANSPORT: Setting.TRANSPORT,
}
# The file (or directory of files) of each rule inside the configured data directory.
SOURCE_NAMES = {Origin.CELL: "presence", Origin.VENUE: "scans", Origin.TRANSPORT: "manifests"}
CHUNK = 5000
INDEX_DAYS = 14  # the page's default index: every case reported in the last two weeks


def _configured() -> str:
    return settings.FANGKONG_COLOCATION_DATA


def data_dir() -> Path:
    """The FANGKONG_COLOCATION_DATA setting, else var/media/colocation/configured."""
    configured = _configured()
    if configured:
        return Path(configured)
    return Path(settings.MEDIA_ROOT) / "colocation" / "configured"


def _database() -> str:
    from django.db import connection

    return str(connection.settings_dict.get("NAME", ""))


def mark_data_dir(path: Path) -> None:
    """Tie data written into the default directory to this database (its keys are this
    registry's), so a test run's or another database's files are never matched here."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "dataset.json").write_text(json.dumps({"database": _database()}))


def data_dir_forget() -> None:
    """Untie the default directory from this database (its data no longer fits the registry)."""
    if not _configured():
        (data_dir() / "dataset.json").unlink(missing_ok=True)


def configured_sources() -> dict[str, str]:
    """{rule: path} of the data present: `presence`, `scans`, `manifests` as a .parquet/.csv file
    or a directory of them."""
    base = data_dir()
    if not _configured():
        try:
            marker = json.loads((base / "dataset.json").read_text())
        except (OSError, ValueError):
            return {}
        if marker.get("database") != _database():
            return {}
    found = {}
    for rule, name in SOURCE_NAMES.items():
        for candidate in (base / name, base / f"{name}.parquet", base / f"{name}.csv"):
            if candidate.exists():
                found[rule] = str(candidate)
                break
    return found


def _naive_local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment, LOCAL).replace(tzinfo=None, microsecond=0)


def index_table(cases, *, now: dt.datetime | None = None) -> pa.Table:
    """The engine's index: each case's window, open windows closed at `now`."""
    now = now or timezone.now()
    ids, starts, ends = [], [], []
    for case in cases:
        if case.window_start is None:
            continue
        end = case.window_end or now
        if end < case.window_start:
            continue
        ids.append(str(case.person_id))
        starts.append(_naive_local(case.window_start))
        ends.append(_naive_local(end))
    return pa.table(
        {
            "person_id": pa.array(ids, pa.string()),
            "window_start": pa.array(starts, pa.timestamp("us")),
            "window_end": pa.array(ends, pa.timestamp("us")),
        }
    )


def _chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def leads_from_colocation(*, actor, result: pa.Table, rule: str, push: bool = True) -> dict:
    """Create or merge leads from the engine's rows (index person → contact person), set-based:
    a fixed number of statements per 5,000 contacts, never one per row.

    Each contact is linked to the index person's case; a contact who is a case already is
    skipped; an existing lead merges (the latest exposure wins, an excluded lead with a newer
    exposure opens again). New and reopened leads are pushed to their home grids."""
    if rule not in SETTING_OF_RULE:
        raise ValueError(f"unknown rule {rule!r}")
    setting = SETTING_OF_RULE[rule]
    data = result.select(
        ["index_person_id", "contact_person_id", "episodes", "overlap_minutes", "first_contact_at"]
    ).to_pydict()
    pairs: dict[tuple[int, int], tuple[int, Decimal | None, dt.datetime]] = {}
    for index_id, contact_id, episodes, overlap, first in zip(
        data["index_person_id"],
        data["contact_person_id"],
        data["episodes"],
        data["overlap_minutes"],
        data["first_contact_at"],
        strict=True,
    ):
        try:
            key = (int(index_id), int(contact_id))
        except (TypeError, ValueError):
            continue
        pairs[key] = (int(episodes), overlap, first.replace(tzinfo=LOCAL))
    stats = {
        "rows": result.num_rows,
        "unknown": 0,
        "cases_skipped": 0,
        "created": 0,
        "merged": 0,
        "links": 0,
        "pushed": 0,
    }
    if not pairs:
        return stats
    index_ids = {i for i, _c in pairs}
    case_of = dict(Case.objects.filter(person_id__in=index_ids).values_list("person_id", "id"))
    contact_ids = {c for _i, c in pairs}
    with transaction.atomic():
        paths, is_case, existing = {}, set(), {}
        for chunk in _chunks(contact_ids):
            paths.update(Person.objects.filter(pk__in=chunk).values_list("id", "jpath"))
            is_case.update(
                Case.objects.filter(person_id__in=chunk).values_list("person_id", flat=True)
            )
            for row in Contact.objects.filter(person_id__in=chunk).values(
                "id", "person_id", "state", "last_exposure_at", "verified_at"
            ):
                existing[row["person_id"]] = row
        latest: dict[int, dt.datetime] = {}
        for (index_id, contact_id), (_e, _o, first) in pairs.items():
            if contact_id not in paths:
                continue
            if contact_id in is_case:
                continue
            if case_of.get(index_id) is None:
                continue
            latest[contact_id] = max(latest.get(contact_id, first), first)
        stats["unknown"] = len(contact_ids - set(paths))
        stats["cases_skipped"] = len(contact_ids & is_case)
        new = [
            Contact(
                person_id=pid,
                jpath=paths[pid],
                kind=ContactKind.CLOSE,
                setting=setting,
                last_exposure_at=at,
                origin=rule,
                state=LeadState.CANDIDATE,
            )
            for pid, at in sorted(latest.items())
            if pid not in existing
        ]
        Contact.objects.bulk_create(new, batch_size=2000)
        contact_pk = {c.person_id: c.pk for c in new}
        if new and any(c.pk is None for c in new):  # a backend without RETURNING
            for chunk in _chunks([c.person_id for c in new]):
                contact_pk.update(
                    Contact.objects.filter(person_id__in=chunk).values_list("person_id", "id")
                )
        reopen, newer = [], []
        for pid, at in latest.items():
            row = existing.get(pid)
            if row is None:
                continue
            contact_pk[pid] = row["id"]
            later, again = lead_merge(
                state=row["state"],
                last_exposure_at=row["last_exposure_at"],
                verified_at=row["verified_at"],
                exposure_at=at,
            )
            if later:
                newer.append(Contact(pk=row["id"], last_exposure_at=at, setting=setting))
            if again:
                reopen.append(row["id"])
        Contact.objects.bulk_update(newer, ["last_exposure_at", "setting"], batch_size=2000)
        if reopen:
            for chunk in _chunks(reopen):
                Contact.objects.filter(pk__in=chunk).update(
                    state=LeadState.CANDIDATE, excluded_reason=""
                )
        links = [
            ContactLink(
                contact_id=contact_pk[contact_id],
                source_case_id=case_of[index_id],
                setting=setting,
                last_exposure_at=first,
                origin=rule,
                episodes=episodes,
                overlap_minutes=overlap,
            )
            for (index_id, contact_id), (episodes, overlap, first) in sorted(pairs.items())
            if contact_id in latest and case_of.get(index_id) is not None
        ]
        ContactLink.objects.bulk_create(links, batch_size=2000, ignore_conflicts=True)
        who = audit_fields(actor)
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    **who,
                    action=Action.CREATE,
                    object_type="tracing.contact",
                    object_id=str(c.pk or contact_pk[c.person_id]),
                    object_repr=f"contact #{c.pk or contact_pk[c.person_id]}",
                    jurisdiction_path=c.jpath,
                    changes={"origin": [None, rule], "state": [None, LeadState.CANDIDATE]},
                )
                for c in new
            ],
            batch_size=2000,
        )
        stats.update(created=len(new), merged=len(latest) - len(new), links=len(links))
        if push:
            candidates = [contact_pk[c.person_id] for c in new] + reopen
            stats["pushed"] = leads_push(actor=actor, contact_ids=candidates)
    return stats


# --- runs ----------------------------------------------------------------------------------------


def colocation_run_start(
    *, actor, rule: str, data: str, jpath: str, case_ids=(), case: Case | None = None, params=None
) -> ColocationRun:
    """Record a run and queue it (run in-process at once without Redis)."""
    from fangkong.common import jobs

    if rule not in SETTING_OF_RULE:
        raise ValueError(f"unknown rule {rule!r}")
    with transaction.atomic():
        run = ColocationRun.objects.create(
            rule=rule,
            data=str(data),
            params=params or {},
            case_ids=list(case_ids),
            case=case,
            jpath=jpath,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=run,
            changes={"rule": [None, rule], "data": [None, str(data)]},
        )
        transaction.on_commit(
            lambda: jobs.enqueue(
                "fangkong.tracing.colocation.colocation_run_execute", run_id=run.pk
            )
        )
    return run


def _stage(run: ColocationRun, progress: int, stage: str, **fields) -> None:
    ColocationRun.objects.filter(pk=run.pk).update(progress=progress, stage=stage, **fields)


def result_path(run: ColocationRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "colocation" / "results" / f"run-{run.pk}.csv"


def colocation_run_execute(*, run_id: int) -> None:
    """The job: index from the cases' windows, the engine over the data, the result as a CSV
    file, then the leads, pushed. Progress is written as it goes, for the page's progress bar."""
    from . import engine

    run = ColocationRun.objects.get(pk=run_id)
    if run.status not in (ColocationRun.Status.QUEUED,):
        return
    _stage(run, 5, "index", status=ColocationRun.Status.RUNNING, started_at=timezone.now())
    try:
        cases = index_cases(run)
        index = index_table(cases)
        _stage(run, 20, "match", index_persons=index.num_rows)
        params = run.params or {}
        if run.rule == Origin.CELL:
            result = engine.colocate_cell(
                run.data, index, min_overlap_minutes=float(params.get("min_overlap_minutes", 10))
            )
        elif run.rule == Origin.VENUE:
            result = engine.colocate_venue(
                run.data, index, max_gap_minutes=float(params.get("max_gap_minutes", 30))
            )
        else:
            result = engine.colocate_transport(
                run.data, index, max_row_distance=int(params.get("max_row_distance", 3))
            )
        _stage(run, 70, "leads", rows=result.num_rows)
        engine.io.write_csv(result, result_path(run))
        stats = leads_from_colocation(actor=run.actor, result=result, rule=run.rule)
    except Exception as exc:
        log.exception("co-location run %s failed", run_id)
        _stage(
            run,
            100,
            "failed",
            status=ColocationRun.Status.FAILED,
            message=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return
    _stage(
        run,
        100,
        "done",
        status=ColocationRun.Status.DONE,
        leads_created=stats["created"],
        leads_merged=stats["merged"],
        pushed=stats["pushed"],
        message=f"unknown={stats['unknown']} cases_skipped={stats['cases_skipped']} links={stats['links']}",
        finished_at=timezone.now(),
    )


def index_cases(run: ColocationRun):
    qs = Case.objects.filter(jpath__startswith=run.jpath).exclude(
        classification__in=(Classification.EXCLUDED, Classification.SUSPECTED)
    )
    if run.case_ids:
        return list(qs.filter(pk__in=run.case_ids))
    since = timezone.localdate() - dt.timedelta(days=INDEX_DAYS)
    return list(qs.filter(report_date__gte=since))


def case_leads_enqueue(*, case_id: int) -> list[ColocationRun]:
    """For a newly confirmed (or asymptomatic) case: one run per configured source, so its
    companions reach the grid workers' lists without anyone pressing a button."""
    sources = configured_sources()
    if not sources:
        return []
    case = Case.objects.filter(pk=case_id).first()
    if case is None:
        return []
    return [
        colocation_run_start(
            actor=None, rule=rule, data=path, jpath=case.jpath, case_ids=[case.pk], case=case
        )
        for rule, path in sorted(sources.items())
    ]


def case_leads(*, case: Case, sources: dict[str, str] | None = None) -> dict:
    """The same synchronously, for a caller that wants the figures (the benchmark)."""
    sources = sources if sources is not None else configured_sources()
    totals = defaultdict(int)
    for rule, path in sorted(sources.items()):
        run = ColocationRun.objects.create(
            rule=rule, data=path, case_ids=[case.pk], case=case, jpath=case.jpath
        )
        colocation_run_execute(run_id=run.pk)
        run.refresh_from_db()
        for key in ("rows", "leads_created", "leads_merged", "pushed"):
            totals[key] += getattr(run, key)
    return dict(totals)
