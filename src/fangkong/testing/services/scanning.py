"""Scanning swabs into tubes at a desk, and closing the tubes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import paths, registry
from fangkong.common.scope import require
from fangkong.people import idnumber
from fangkong.people.models import DocumentType, Person

from .. import roles, selectors
from ..models import Recheck, Round, Sample, Site, Tube
from .base import Conflict, TestingError


def pool_size_for(*, round_: Round, person: Person | None) -> int:
    """The pool a person's tube is opened with under the round's pooling policy.

    `pooling` = {"key_groups": 1, "zones": {"sealed": 1, "controlled": 10, "precaution": 20}}:
    key groups (people under temporary control in any round, or under a control order) get
    `key_groups`, usually a tube each; people living in an active sealed / controlled /
    precaution zone get that zone's size; everyone else the round's pool size."""
    policy = round_.pooling or {}
    if person is None or not policy:
        return round_.pool_size
    from ..models import TemporaryControl

    size = round_.pool_size
    zones = policy.get("zones") or {}
    if zones:
        from fangkong.command.models import RiskArea

        where = Q(jurisdiction__path__in=paths.ancestors(person.jpath))
        if person.household_id is not None:
            where |= Q(building__households__id=person.household_id)
        areas = RiskArea.objects.filter(
            where, ended_on__isnull=True, external=False, level__in=list(zones)
        )
        # The zone's size replaces the round's, up (20:1) or down; in two zones the stricter.
        found = [int(zones[level]) for level in areas.values_list("level", flat=True)]
        size = min(found) if found else size
    if "key_groups" in policy:
        controlled = TemporaryControl.objects.filter(person=person, released_at__isnull=True)
        if controlled.exists() or _under_control_order(person):
            size = min(size, int(policy["key_groups"]))
    return max(1, size)


def _under_control_order(person: Person) -> bool:
    from fangkong.control.models import ControlOrder

    return ControlOrder.objects.filter(person=person, status=ControlOrder.Status.OPEN).exists()


# Codes other apps' QR codes carry in place of an ID card, each with the function that scans it
# (voluntary testing's booking codes, FKV:<token>). Those apps register here from their own
# registry.py, so this module never imports them: prefix -> dotted path of
# scan(*, actor, round_, barcode, site, code, kind, capacity, at) -> Scan.
_CODE_SCANNERS: dict[str, str] = {}


def code_scanner(prefix: str, scan: str) -> None:
    """Let the scanner accept codes that start with `prefix` (case-insensitive) as a person."""
    _CODE_SCANNERS[prefix.upper()] = scan


def scanner_for(code: str):
    """The registered scan function for a code, or None for an ID card or health code."""
    if not _CODE_SCANNERS or not code:
        return None
    head = code.strip()[:16].upper()
    for prefix, scan in _CODE_SCANNERS.items():
        if head.startswith(prefix):
            return registry.load(scan)
    return None


@dataclass
class Scan:
    tube: Tube
    tube_created: bool
    added: bool  # False when the same scan arrived before: nothing changed
    person: Person | None = None
    # Stable codes of what the desk confirmed to get this swab in (POOLING_CONFIRM).
    warnings: tuple[str, ...] = ()


# Control states that keep a person out of a community pool (a pooled tube of more than one).
#
# Refused: centralized and home isolation, and temporary control in this round (a member of a
# positive pool awaiting the re-check). Such a person may not leave isolation, so their ID at a
# community desk is a breach or a wrong ID either way, and the national sampling guide has them
# swabbed one person to a tube; pooled, a positive one would put the nine neighbours in the tube
# under temporary control too. Whether to proceed is not a desk's judgment, so no confirm: the
# refusal names the remedy, a tube of one (the single-tube kind or capacity 1).
#
# Confirmed: home health monitoring. The person may go out for a test (plan ed. 9 asks for tests
# on days 1, 4 and 7) but is a key group; the desk sees the warning and scans again with
# `confirm`, and the confirmed swab is audited, with its warning code in the answer.
POOLING_REFUSED = ("centralized", "home_isolation")
POOLING_CONFIRM = ("home_monitoring",)
ISOLATED_IN_POOL = "isolated_in_pool"
MONITORED_IN_POOL = "monitored_in_pool"


def _pooling_check(*, actor, round_, tube, person, confirm: bool) -> tuple[str, ...]:
    """Refuse or warn when a person under control goes into a community pool; the warning codes
    the desk confirmed. A tube of one, a re-check tube and a goods tube are never a community pool."""
    if tube.kind != Tube.Kind.POOL or tube.subject != Tube.Subject.PERSON or tube.capacity <= 1:
        return ()
    # One statement, the same two index probes as the fast path's _CONTROL_GUARD.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT measure FROM control_controlorder WHERE person_id = %s "
            "AND status = 'open'), EXISTS (SELECT 1 FROM testing_temporarycontrol WHERE "
            "round_id = %s AND person_id = %s AND released_at IS NULL)",
            [person.pk, round_.pk, person.pk],
        )
        measure, held = cursor.fetchone()
    if measure in POOLING_REFUSED or held:
        from fangkong.control.models import Measure

        state = Measure(measure).label if measure in POOLING_REFUSED else _("temporary control")
        raise Conflict(
            _(
                "%(name)s is under %(state)s: not into a community pool. Swab them into a "
                "tube of their own (single tube)."
            )
            % {"name": person.name, "state": state},
            code=ISOLATED_IN_POOL,
            fields={"control": measure if measure in POOLING_REFUSED else "temporary_control"},
        )
    if measure in POOLING_CONFIRM:
        if not confirm:
            raise Conflict(
                _(
                    "%(name)s is under home health monitoring. Confirm to swab them into this "
                    "community pool, or use a tube of their own."
                )
                % {"name": person.name},
                code=MONITORED_IN_POOL,
                fields={"control": measure},
            )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=tube,
            jurisdiction_path=tube.jpath,
            changes={"warning": MONITORED_IN_POOL, "person": person.pk, "confirmed": True},
        )
        return (MONITORED_IN_POOL,)
    return ()


def scan_number(code: str) -> str:
    """The ID number in a scanned ID card or health code (the health-code payload ends with it)."""
    return idnumber.normalize(code).rsplit("|", 1)[-1].rsplit(":", 1)[-1]


def person_by_code(code: str, actor=None) -> Person:
    """A scanned ID card or health code: the health-code payload ends with the ID number.

    Only residents of the actor's sampling area (selectors.sampling_area) are found. A number unknown to the registry and one of
    another district get one and the same refusal: a scanner that answered 201 for one and
    "not in the registry" for the other would tell anyone typing numbers which exist. (The
    other district's resident is sampled at a site of their own area.)"""
    number = scan_number(code)
    # Naming every document type lets the (document_type, document_number) index serve the lookup.
    people = Person.objects.filter(document_type__in=DocumentType.values, document_number=number)
    if actor is not None:
        area = selectors.sampling_area(actor)
        if area is None:
            people = people.none()
        elif area != "/":
            people = people.filter(jpath__startswith=area)
    person = people.select_related("grid").first()
    if person is None:
        raise TestingError(
            _("nobody registered in your area has this number"), code="unknown_person"
        )
    return person


def _tube_locked(
    *, round_: Round, barcode: str, site: Site, kind: str, subject: str, capacity: int, now
) -> tuple[Tube, bool]:
    """The tube row, locked; created when new. Two scanners creating one barcode at once both end
    here with the same row: the loser's insert fails on the unique barcode and it reads the winner's."""
    # Raw SQL: this runs for every swab, and building the ORM query cost more than running it.
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    found = list(
        Tube.objects.raw(f"SELECT * FROM testing_tube WHERE barcode = %s{lock}", [barcode])
    )
    if found:
        return found[0], False
    try:
        with transaction.atomic():
            tube = Tube.objects.create(
                barcode=barcode,
                round=round_,
                site=site,
                jpath=site.jpath,
                kind=kind,
                subject=subject,
                capacity=capacity,
                status=Tube.Status.OPEN,
                opened_at=now,
            )
    except IntegrityError:
        return Tube.objects.select_for_update().get(barcode=barcode), False
    return tube, True


def tube_scan(
    *,
    actor,
    round_: Round,
    barcode: str,
    site: Site,
    code: str = "",
    person: Person | None = None,
    kind: str = Tube.Kind.POOL,
    subject: str = Tube.Subject.PERSON,
    subject_label: str = "",
    capacity: int | None = None,
    at: dt.datetime | None = None,
    fast_tried: bool = False,
    confirm: bool = False,
) -> Scan:
    """Register a tube (first scan) and add one swab to it. Re-sending a scan changes nothing.
    `fast_tried`: scan_in_one already tried the common case, which did not apply. `confirm`: the
    desk confirmed a warning (POOLING_CONFIRM)."""
    barcode = barcode.strip()
    if not barcode or len(barcode) > 40:
        raise TestingError(_("a tube barcode has 1 to 40 characters"))
    if round_.status == Round.Status.CLOSED:
        raise TestingError(_("the round is closed"))
    now = at or timezone.now()
    scan_code = scanner_for(code) if subject == Tube.Subject.PERSON and person is None else None
    if scan_code is not None:
        return scan_code(
            actor=actor,
            round_=round_,
            barcode=barcode,
            site=site,
            code=code,
            kind=kind,
            capacity=capacity,
            at=now,
        )
    if subject == Tube.Subject.PERSON and person is None:
        person = person_by_code(code, actor) if code else None
    if (
        person is not None
        and kind == Tube.Kind.POOL
        and connection.vendor == "postgresql"
        and not fast_tried
    ):
        fast = _scan_fast(actor, round_, barcode, site, person, now)
        if fast is not None:
            return fast
    if kind == Tube.Kind.RECHECK:
        capacity = 1
    if not capacity and round_.pooling:
        # Only a new tube takes its size from the policy; an existing tube keeps its own.
        capacity = (
            None
            if Tube.objects.filter(barcode=barcode).exists()
            else pool_size_for(round_=round_, person=person)
        )
    capacity = capacity or round_.pool_size
    if not 1 <= capacity <= round_.max_pool_size:
        raise TestingError(
            _("the pool size must be between 1 and %(n)s") % {"n": round_.max_pool_size}
        )
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return _scan(
                    actor,
                    round_,
                    barcode,
                    site,
                    person,
                    kind,
                    subject,
                    subject_label,
                    capacity,
                    now,
                    confirm,
                )
        except IntegrityError:
            # The partial unique index caught a person added to another open tube concurrently.
            if (
                person is not None
                and Sample.objects.filter(round=round_, person=person, tube_open=True)
                .exclude(tube__barcode=barcode)
                .exists()
            ):
                raise Conflict(
                    _("this person is already in another open tube of this round"),
                    code="in_another_tube",
                ) from None
    raise Conflict(_("the tube is busy; scan again"))


# The common scan, one more person into an open pool with room, as one statement: lock the tube,
# add the swab, count it. A new tube, a full or closed one, a repeat or a person already in
# another open tube matches nothing here and takes the general path, which says why.
#
# `round_id + 0`: the planner's statistics of a round being sampled say it has no tubes yet, so
# (round_id, status) looked as good as the barcode's unique index and it scanned every open tube
# of the round on every scan; only the barcode's index may answer.
_SWAB_INTO_OPEN_POOL = (
    "t AS (SELECT tt.id FROM testing_tube tt{join} WHERE tt.barcode = %s "
    "AND tt.round_id + 0 = {round}{guard} AND tt.status = 'open' AND tt.kind = 'pool' "
    "AND tt.subject = 'person' AND tt.members < tt.capacity{control} FOR UPDATE OF tt), "
    "s AS (INSERT INTO testing_sample (round_id, tube_id, person_id, sampled_at, kind, "
    "tube_open, scanned_by_id) SELECT {round}, t.id, {person}, %s::timestamptz, 'pool', TRUE, "
    "%s::bigint FROM t{join} ON CONFLICT DO NOTHING RETURNING tube_id), "
    "u AS (UPDATE testing_tube SET members = members + 1, sampled_at = %s::timestamptz, "
    "grid_id = CASE WHEN members = 0 THEN {grid} WHEN grid_id = {grid} THEN grid_id END "
    "FROM s{join} WHERE testing_tube.id = s.tube_id RETURNING testing_tube.*)"
)
# A person under a control state of POOLING_REFUSED / POOLING_CONFIRM matches nothing either:
# the general path refuses or warns (_pooling_check). Two index probes: the one open order per
# person (control_one_open_order) and this round's temporary control (round, person).
_CONTROL_GUARD = (
    " AND NOT EXISTS (SELECT 1 FROM control_controlorder co WHERE co.person_id = {person} "
    "AND co.status = 'open' AND co.measure IN ("
    + ", ".join(f"'{m}'" for m in (*POOLING_REFUSED, *POOLING_CONFIRM))
    + ")) AND NOT EXISTS (SELECT 1 FROM testing_temporarycontrol tc WHERE tc.round_id = {round} "
    "AND tc.person_id = {person} AND tc.released_at IS NULL)"
)
_FAST_SCAN = (
    "WITH "
    + _SWAB_INTO_OPEN_POOL.format(
        join="",
        round="%s",
        guard="",
        person="%s",
        grid="%s",
        control=_CONTROL_GUARD.format(person="%s", round="%s"),
    )
    + " SELECT * FROM u"
)


def _model_from(model, values: dict, prefix: str):
    """A model instance from a raw row's columns, with the fields' own conversions (JSON...)."""
    fields = model._meta.concrete_fields
    converted = []
    for f in fields:
        value = values[prefix + f.column]
        if value is not None and hasattr(f, "from_db_value"):
            value = f.from_db_value(value, None, connection)
        converted.append(value)
    return model.from_db(model.objects.db, [f.attname for f in fields], converted)


_COLUMN_NAMES: dict[str, list[str]] = {}
# The database connections on which scan_in_one set plan_cache_mode (weakly: a closed one goes).
# prepare_threshold for the connections scan_in_one uses: only prepare=True prepares.
_NEVER = 2**31


class _Row:
    def __init__(self, values: dict):
        self.__dict__.update(values)


def desk_scan(
    *,
    actor,
    round_code,
    site_code: str,
    barcode: str,
    code: str = "",
    kind: str = Tube.Kind.POOL,
    subject: str = Tube.Subject.PERSON,
    subject_label: str = "",
    capacity: int | None = None,
    confirm: bool = False,
) -> Scan:
    """A scan as a desk sends it, by codes: round, site and person looked up within the actor's
    subtree (404 outside), then tube_scan. On PostgreSQL nine scans in ten (one more person into
    an open pool) are a single statement, lookup and swab together (scan_in_one)."""
    require(actor, roles.can_sample)
    # A registered app's code (a booking's QR code) is resolved by tube_scan, not by number.
    wants_person = subject == Tube.Subject.PERSON and code and scanner_for(code) is None
    number = scan_number(code) if wants_person else ""
    stripped = barcode.strip()
    result, tried = None, False
    if (
        connection.vendor == "postgresql"
        and wants_person
        and kind == Tube.Kind.POOL
        and 0 < len(stripped) <= 40
    ):
        round_, site, person, result = scan_in_one(actor, round_code, site_code, number, stripped)
        tried = True
    else:
        # Round, site and person in one query; an unknown person is refused by tube_scan.
        round_, site, person = selectors.scan_targets(actor, round_code, site_code, number)
    return result or tube_scan(
        actor=actor,
        round_=round_,
        barcode=barcode,
        site=site,
        code=code,
        person=person,
        kind=kind,
        subject=subject,
        subject_label=subject_label,
        capacity=capacity,
        fast_tried=tried,
        confirm=confirm,
    )


def scan_in_one(actor, round_code, site_code: str, number: str, barcode: str):
    """The scanner API's common scan in one statement on PostgreSQL: scan_targets' lookup of
    round, site and person (with its guards) and the swab of _FAST_SCAN, instead of two round trips.
    Returns (round, site, person, Scan or None); None: the scan needs tube_scan's general path
    (a new, full or closed tube, a repeat, an unknown person, a closed round...)."""
    sql, params = selectors.scan_targets_sql(actor, round_code, site_code, number)
    now = timezone.now()
    scanned_by = actor.pk if getattr(actor, "is_authenticated", False) else None
    tube_cols = ", ".join(f"u.{f.column} AS t__{f.column}" for f in Tube._meta.concrete_fields)
    swab = _SWAB_INTO_OPEN_POOL.format(
        join=", g",
        round="g.id",
        guard=" AND g.round_visible = 1 AND g.site_visible = 1 AND g.p__id IS NOT NULL "
        "AND g.status <> 'closed'",
        person="g.p__id",
        grid="g.p__grid_id",
        control=_CONTROL_GUARD.format(person="g.p__id", round="g.id"),
    )
    combined = f"WITH g AS ({sql}), {swab} SELECT g.*, {tube_cols} FROM g LEFT JOIN u ON TRUE"
    connection.ensure_connection()
    raw = connection.connection
    # Prepared once per connection: planning this statement cost the database more than running
    # it (1.2 ms against 0.4 ms for the lookup alone), on every scan. Django binds on the client,
    # which never prepares, so this one statement goes through a server-binding cursor.
    # Django opens its connections with psycopg's prepare_threshold None (no prepared statements,
    # for connection poolers), and psycopg then ignores prepare=True: this statement was planned
    # afresh on every scan (1.4 ms of the backend's 2.1 ms). A threshold no other query reaches
    # lets prepare=True work here and prepares nothing else (Django never asks for it).
    # (Behind PgBouncer in transaction mode: 1.21+ with max_prepared_statements set.)
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _NEVER
    with psycopg.Cursor(raw) as cursor:
        cursor.execute(combined, [*params, barcode, now, scanned_by, now], prepare=True)
        # psycopg builds ~80 column objects for `description` on every call (8 % of a scan).
        names = _COLUMN_NAMES.get(combined)
        if names is None:
            names = _COLUMN_NAMES[combined] = [d.name for d in cursor.description]
        found = [_Row(dict(zip(names, values, strict=True))) for values in cursor.fetchall()]
    if found:
        values = found[0].__dict__
        round_row = _model_from(Round, values, "")
        round_row.__dict__.update(
            {k: v for k, v in values.items() if "__" in k or k.endswith("_visible")}
        )
        found = [round_row]
    round_, site, person = selectors.scan_targets_from(found)
    row = found[0]
    if row.t__id is None:
        return round_, site, person, None
    tube = _model_from(Tube, row.__dict__, "t__")
    tube.round = round_
    if tube.site_id == site.pk:
        tube.site = site
    return round_, site, person, Scan(tube=tube, tube_created=False, added=True, person=person)


def _scan_fast(actor, round_, barcode, site, person, now) -> Scan | None:
    scanned_by = actor.pk if getattr(actor, "is_authenticated", False) else None
    found = list(
        Tube.objects.raw(
            _FAST_SCAN,
            [barcode, round_.pk, person.pk, round_.pk, person.pk, round_.pk, person.pk, now]
            + [scanned_by, now]
            + [person.grid_id, person.grid_id],
        )
    )
    if not found:
        return None
    tube = found[0]
    tube.round = round_
    if tube.site_id == site.pk:
        tube.site = site
    return Scan(tube=tube, tube_created=False, added=True, person=person)


def _scan(
    actor, round_, barcode, site, person, kind, subject, subject_label, capacity, now, confirm
) -> Scan:
    tube, created = _tube_locked(
        round_=round_,
        barcode=barcode,
        site=site,
        kind=kind,
        subject=subject,
        capacity=capacity,
        now=now,
    )
    if tube.round_id != round_.pk:
        raise Conflict(_("the tube belongs to another round"))
    # The caller's round and site are the tube's more often than not: no query to show them.
    tube.round = round_
    if tube.site_id == site.pk:
        tube.site = site
    if tube.kind != kind or tube.subject != subject:
        raise Conflict(_("the tube was registered as %(kind)s") % {"kind": tube.get_kind_display()})
    if created:
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=tube,
            jurisdiction_path=tube.jpath,
            changes={"round": round_.code, "site": site.code, "kind": kind, "capacity": capacity},
        )
    if person is None:
        if subject_label and subject_label != tube.subject_label:
            tube.subject_label = subject_label[:200]
            tube.save(update_fields=["subject_label"])
        return Scan(tube=tube, tube_created=created, added=created)
    if tube.status != Tube.Status.OPEN or tube.members >= tube.capacity:
        # Only a re-sent scan is harmless here; anything else is refused.
        if Sample.objects.filter(tube=tube, person=person).exists():
            return Scan(tube=tube, tube_created=created, added=False, person=person)
        if tube.status != Tube.Status.OPEN:
            raise Conflict(_("the tube is closed"), code="tube_closed")
        raise Conflict(_("the tube is full (%(n)s swabs)") % {"n": tube.capacity}, code="tube_full")
    try:
        warnings = _pooling_check(
            actor=actor, round_=round_, tube=tube, person=person, confirm=confirm
        )
    except Conflict:
        # A re-sent scan of a swab confirmed before changes nothing and warns no more.
        if Sample.objects.filter(tube=tube, person=person).exists():
            return Scan(tube=tube, tube_created=created, added=False, person=person)
        raise
    # One statement both adds the swab and checks the two rules the unique indexes keep: the same
    # swab twice (a re-sent scan: nothing changes) and one person in two open tubes of a round.
    if not _sample_insert(round_, tube, person, kind, actor, now):
        if Sample.objects.filter(tube=tube, person=person).exists():
            return Scan(tube=tube, tube_created=created, added=False, person=person)
        raise Conflict(
            _("this person is already in another open tube of this round"), code="in_another_tube"
        )
    tube.members += 1
    tube.sampled_at = now
    with connection.cursor() as cursor:
        cursor.execute(
            # The first person's grid; once a second grid joins, NULL for good.
            "UPDATE testing_tube SET members = %s, sampled_at = %s, grid_id = CASE WHEN %s = 1 "
            "THEN %s WHEN grid_id = %s THEN grid_id END WHERE id = %s",
            [
                tube.members,
                connection.ops.adapt_datetimefield_value(now),
                tube.members,
                person.grid_id,
                person.grid_id,
                tube.pk,
            ],
        )
    if kind == Tube.Kind.RECHECK:
        Recheck.objects.filter(round=round_, person=person, status=Recheck.Status.PENDING).update(
            status=Recheck.Status.SAMPLED, recheck_tube=tube, updated_at=now
        )
    # No audit entry per swab: the Sample row itself records who scanned whom into which tube and
    # when (scanned_by, sampled_at); the tube's creation, a confirmed warning and the close are.
    return Scan(tube=tube, tube_created=created, added=True, person=person, warnings=warnings)


def _sample_insert(round_, tube, person, kind, actor, now) -> bool:
    """INSERT … ON CONFLICT DO NOTHING: True when the swab was added."""
    scanned_by = actor.pk if getattr(actor, "is_authenticated", False) else None
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO testing_sample (round_id, tube_id, person_id, sampled_at, kind, tube_open, "
            "scanned_by_id) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [
                round_.pk,
                tube.pk,
                person.pk,
                connection.ops.adapt_datetimefield_value(now),
                kind,
                True,
                scanned_by,
            ],
        )
        return cursor.rowcount == 1


def tube_close(*, actor, tube: Tube, at: dt.datetime | None = None) -> Tube:
    require(actor, roles.can_sample)
    with transaction.atomic():
        tube = Tube.objects.select_for_update().get(pk=tube.pk)
        if tube.status != Tube.Status.OPEN:
            return tube
        if tube.members == 0 and tube.subject == Tube.Subject.PERSON:
            raise TestingError(_("an empty tube cannot be closed"))
        tube.status = Tube.Status.CLOSED
        tube.sampled_at = at or tube.sampled_at or timezone.now()
        tube.save(update_fields=["status", "sampled_at"])
        Sample.objects.filter(tube=tube).update(tube_open=False)
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=tube,
            jurisdiction_path=tube.jpath,
            changes={"status": ["open", "closed"], "members": tube.members},
        )
    return tube
