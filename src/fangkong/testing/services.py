"""Writes of mass testing: rounds, sites, labs, scanning, boxes, receipt, results; planning rules."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from fangkong.audit.models import Action
from fangkong.audit.services import audit_created, audit_record
from fangkong.common import errors, paths
from fangkong.common.scope import require
from fangkong.geo.models import Jurisdiction, Level
from fangkong.people import idnumber
from fangkong.people.models import DocumentType, Person

from . import bulk, roles, selectors
from .models import (
    Box,
    Exemption,
    Lab,
    Recheck,
    Result,
    RotationSlot,
    Round,
    RoundScope,
    Sample,
    Site,
    Tube,
)


class TestingError(errors.DomainError, ValueError):
    """A business rule refused the request; the message is for the user."""

    code = "invalid"


class Conflict(TestingError, errors.Conflict):
    code = "conflict"


# --------------------------------------------------------------------------- set-up


def round_create(
    *,
    actor,
    code: str,
    name: str,
    scope: list[Jurisdiction],
    pool_size: int = 10,
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    pooling: dict | None = None,
    target: str = "everyone",
    warning_hours: int | None = None,
    breach_hours: int | None = None,
) -> Round:
    require(actor, roles.can_manage_rounds)
    if not scope:
        raise TestingError(_("a round needs at least one jurisdiction in its scope"))
    if not 1 <= pool_size <= 20:
        raise TestingError(_("the pool size must be between 1 and 20"))
    if Round.objects.filter(code=code).exists():
        raise Conflict(_("a round with code %(code)s exists") % {"code": code})
    with transaction.atomic():
        round_ = Round.objects.create(
            code=code,
            name=name,
            pool_size=pool_size,
            starts_at=starts_at,
            ends_at=ends_at,
            pooling=pooling or {},
            target=target,
            warning_hours=warning_hours,
            breach_hours=breach_hours,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        RoundScope.objects.bulk_create(
            [RoundScope(round=round_, jurisdiction=node, path=node.path) for node in scope]
        )
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=round_,
            jurisdiction_path=min(n.path for n in scope),
            changes={
                "code": code,
                "name": name,
                "scope": [n.code for n in scope],
                "pool_size": pool_size,
            },
        )
    return round_


def site_create(
    *,
    actor,
    code: str,
    name: str,
    jurisdiction: Jurisdiction,
    kind: str = Site.Kind.FIXED,
    grids: list[Jurisdiction] | None = None,
    desks: int = 1,
    samplers: int = 2,
    opening_hours: str = "",
    address: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
) -> Site:
    require(actor, roles.can_manage_rounds)
    if Site.objects.filter(code=code).exists():
        raise Conflict(_("a site with code %(code)s exists") % {"code": code})
    with transaction.atomic():
        site = Site.objects.create(
            code=code,
            name=name,
            kind=kind,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            desks=desks,
            samplers=samplers,
            opening_hours=opening_hours,
            address=address,
            latitude=latitude,
            longitude=longitude,
        )
        if grids:
            site.grids.set(grids)
        audit_created(
            actor=actor,
            obj=site,
            fields={"code": code, "name": name, "jurisdiction": jurisdiction.code},
        )
        # audit_created takes the path from the object; sites keep theirs in jpath.
    return site


def lab_create(
    *, actor, code: str, name: str, jurisdiction: Jurisdiction, daily_capacity: int = 0
) -> Lab:
    require(actor, roles.can_manage_rounds)
    if Lab.objects.filter(code=code).exists():
        raise Conflict(_("a lab with code %(code)s exists") % {"code": code})
    with transaction.atomic():
        lab = Lab.objects.create(
            code=code,
            name=name,
            jurisdiction=jurisdiction,
            jpath=jurisdiction.path,
            daily_capacity=daily_capacity,
        )
        audit_created(actor=actor, obj=lab, fields={"code": code, "daily_capacity": daily_capacity})
    return lab


def exemption_add(
    *, actor, round_: Round, person: Person, reason: str, home_visit: bool = True
) -> Exemption:
    """Take someone off the sampling points' list (bedridden: a home-visit team samples them)."""
    with transaction.atomic():
        exemption, created = Exemption.objects.update_or_create(
            round=round_, person=person, defaults={"reason": reason, "home_visit": home_visit}
        )
        audit_record(
            actor=actor,
            action=Action.CREATE if created else Action.UPDATE,
            obj=round_,
            jurisdiction_path=person.jpath,
            changes={"exemption": person.pk, "reason": reason, "home_visit": home_visit},
        )
    return exemption


def exemptions_from_tags(*, actor, round_: Round) -> int:
    """Every bedridden person in the round's scope is sampled at home: one set-based insert."""
    from fangkong.people.models import Tag

    scope = Q(pk__in=[])
    for path in round_.scope_nodes.values_list("path", flat=True):
        scope |= Q(jpath__startswith=path)
    bedridden = (
        Person.objects.filter(scope)
        .annotate(bed=F("tags").bitand(Tag.BEDRIDDEN.value))
        .filter(bed__gt=0)
        .exclude(pk__in=Exemption.objects.filter(round=round_).values("person_id"))
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        made = Exemption.objects.bulk_create(
            [
                Exemption(round=round_, person_id=pk, reason=_("bedridden"), home_visit=True)
                for pk in bedridden.iterator()
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=round_,
            jurisdiction_path=min(round_.scope_nodes.values_list("path", flat=True), default="/"),
            changes={"exemptions_bedridden": len(made)},
        )
    return len(made)


# --------------------------------------------------------------------------- scanning


def pool_size_for(*, round_: Round, person: Person | None) -> int:
    """The pool a person's tube is opened with under the round's pooling policy.

    `pooling` = {"key_groups": 1, "zones": {"sealed": 1, "controlled": 10, "precaution": 20}}:
    key groups (people under temporary control in any round, or under a control order) get
    `key_groups`, usually a tube each; people living in an active sealed / controlled /
    precaution zone get that zone's size; everyone else the round's pool size."""
    policy = round_.pooling or {}
    if person is None or not policy:
        return round_.pool_size
    from .models import TemporaryControl

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


@dataclass
class Scan:
    tube: Tube
    tube_created: bool
    added: bool  # False when the same scan arrived before: nothing changed
    person: Person | None = None


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
) -> Scan:
    """Register a tube (first scan) and add one swab to it. Re-sending a scan changes nothing.
    `fast_tried`: scan_in_one already tried the common case, which did not apply."""
    barcode = barcode.strip()
    if not barcode or len(barcode) > 40:
        raise TestingError(_("a tube barcode has 1 to 40 characters"))
    if round_.status == Round.Status.CLOSED:
        raise TestingError(_("the round is closed"))
    now = at or timezone.now()
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
    "AND tt.subject = 'person' AND tt.members < tt.capacity FOR UPDATE OF tt), "
    "s AS (INSERT INTO testing_sample (round_id, tube_id, person_id, sampled_at, kind, "
    "tube_open, scanned_by_id) SELECT {round}, t.id, {person}, %s::timestamptz, 'pool', TRUE, "
    "%s::bigint FROM t{join} ON CONFLICT DO NOTHING RETURNING tube_id), "
    "u AS (UPDATE testing_tube SET members = members + 1, sampled_at = %s::timestamptz, "
    "grid_id = CASE WHEN members = 0 THEN {grid} WHEN grid_id = {grid} THEN grid_id END "
    "FROM s{join} WHERE testing_tube.id = s.tube_id RETURNING testing_tube.*)"
)
_FAST_SCAN = (
    "WITH "
    + _SWAB_INTO_OPEN_POOL.format(join="", round="%s", guard="", person="%s", grid="%s")
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
) -> Scan:
    """A scan as a desk sends it, by codes: round, site and person looked up within the actor's
    subtree (404 outside), then tube_scan. On PostgreSQL nine scans in ten (one more person into
    an open pool) are a single statement, lookup and swab together (scan_in_one)."""
    require(actor, roles.can_sample)
    wants_person = subject == Tube.Subject.PERSON and code
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
    )
    combined = f"WITH g AS ({sql}), {swab} SELECT g.*, {tube_cols} FROM g LEFT JOIN u ON TRUE"
    connection.ensure_connection()
    # Prepared once per connection: planning this statement cost the database more than running
    # it (1.2 ms against 0.4 ms for the lookup alone), on every scan. Django binds on the client,
    # which never prepares, so this one statement goes through a server-binding cursor.
    with psycopg.Cursor(connection.connection) as cursor:
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
            [barcode, round_.pk, round_.pk, person.pk, now, scanned_by, now]
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
    actor, round_, barcode, site, person, kind, subject, subject_label, capacity, now
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
            raise Conflict(_("the tube is closed"))
        raise Conflict(_("the tube is full (%(n)s swabs)") % {"n": tube.capacity})
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
    # when (scanned_by, sampled_at); the tube's creation and its close are audited.
    return Scan(tube=tube, tube_created=created, added=True, person=person)


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


# --------------------------------------------------------------------------- transport and receipt


def box_create(*, actor, code: str, site: Site, lab: Lab | None = None) -> Box:
    require(actor, roles.can_sample)
    if Box.objects.filter(code=code).exists():
        raise Conflict(_("a box with code %(code)s exists") % {"code": code})
    with transaction.atomic():
        box = Box.objects.create(code=code, site=site, lab=lab, jpath=site.jpath)
        audit_record(
            actor=actor,
            action=Action.CREATE,
            obj=box,
            jurisdiction_path=box.jpath,
            changes={"code": code},
        )
    return box


def box_add_tubes(*, actor, box: Box, tubes: list[Tube], at: dt.datetime | None = None) -> int:
    require(actor, roles.can_sample)
    now = at or timezone.now()
    if box.handed_over_at:
        raise TestingError(_("the box has been handed over"))
    with transaction.atomic():
        ids = [t.pk for t in tubes]
        if Tube.objects.filter(pk__in=ids, status=Tube.Status.OPEN).exists():
            raise TestingError(_("close the tubes before boxing them"))
        n = Tube.objects.filter(pk__in=ids, status=Tube.Status.CLOSED).update(
            box=box, status=Tube.Status.BOXED, boxed_at=now
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=box,
            jurisdiction_path=box.jpath,
            changes={"tubes_added": n},
        )
    return n


def box_hand_over(*, actor, box: Box, lab: Lab | None = None, at: dt.datetime | None = None) -> Box:
    require(actor, roles.can_sample)
    now = at or timezone.now()
    with transaction.atomic():
        box.handed_over_at = box.handed_over_at or now
        box.lab = lab or box.lab
        box.save(update_fields=["handed_over_at", "lab"])
        box.tubes.filter(status=Tube.Status.BOXED).update(
            status=Tube.Status.IN_TRANSIT, handed_over_at=now
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=box,
            jurisdiction_path=box.jpath,
            changes={"handed_over_at": now.isoformat()},
        )
    return box


def box_receive(*, actor, box: Box, lab: Lab, at: dt.datetime | None = None) -> int:
    require(actor, roles.can_report)
    now = at or timezone.now()
    with transaction.atomic():
        box.received_at = box.received_at or now
        box.lab = lab
        box.save(update_fields=["received_at", "lab"])
        n = box.tubes.filter(received_at__isnull=True).update(
            status=Tube.Status.RECEIVED, received_at=now, lab=lab
        )
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=box,
            jurisdiction_path=lab.jpath,
            changes={"received_at": now.isoformat(), "tubes": n, "lab": lab.code},
        )
    return n


def tube_receive(*, actor, tube: Tube, lab: Lab, at: dt.datetime | None = None) -> Tube:
    """A lab scans one tube on arrival; scanning it again changes nothing."""
    require(actor, roles.can_report)
    with transaction.atomic():
        tube = Tube.objects.select_for_update().get(pk=tube.pk)
        if tube.received_at is not None:
            return tube
        if tube.status == Tube.Status.OPEN:
            raise TestingError(_("the tube is still open"))
        tube.received_at = at or timezone.now()
        tube.lab = lab
        if tube.status != Tube.Status.RESULTED:
            tube.status = Tube.Status.RECEIVED
        tube.save(update_fields=["received_at", "lab", "status"])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=tube,
            jurisdiction_path=tube.jpath,
            changes={"received_at": tube.received_at.isoformat(), "lab": lab.code},
        )
    return tube


def result_record(
    *,
    actor,
    tube: Tube,
    result: str,
    lab: Lab,
    reported_at: dt.datetime | None = None,
    tested_at: dt.datetime | None = None,
    ct_orf1ab: Decimal | None = None,
    ct_n: Decimal | None = None,
) -> dict:
    """One tube's result from a lab system. The same result again is harmless; a different one is refused."""
    require(actor, roles.can_report)
    if result not in Result.values:
        raise TestingError(_("the result must be negative, positive or invalid"))
    with transaction.atomic():
        tube = Tube.objects.select_for_update().get(pk=tube.pk)
        if tube.result:
            if tube.result == result:
                return {"changed": False, "tube": tube}
            raise Conflict(
                _("the tube is already reported as %(result)s")
                % {"result": tube.get_result_display()}
            )
        if tube.status == Tube.Status.OPEN:
            raise TestingError(_("the tube is still open"))
        now = reported_at or timezone.now()
        tube.result, tube.status, tube.lab = result, Tube.Status.RESULTED, lab
        tube.reported_at, tube.tested_at = now, tested_at or now
        tube.received_at = tube.received_at or tested_at or now
        tube.ct_orf1ab, tube.ct_n = ct_orf1ab, ct_n
        tube.save()
        effects = bulk.apply_results_for([tube.pk])
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=tube,
            jurisdiction_path=tube.jpath,
            changes={"result": ["", result], "lab": lab.code, **effects},
        )
    return {"changed": True, "tube": tube, **effects}


# --------------------------------------------------------------------------- planning


@dataclass
class PlanRow:
    node: Jurisdiction
    population: int
    points_min: int
    points_max: int
    desks_min: int
    desks_max: int
    samplers: int
    tubes: int
    lab_per_day: int
    have_points: int = 0
    have_desks: int = 0
    have_samplers: int = 0
    have_lab_per_day: int = 0
    shortfall: dict = field(default_factory=dict)


def plan_numbers(population: int, *, hours: int = 24, pool_size: int = 10) -> dict:
    """The national sizing rules: a point per 2,000–3,000 people, a desk per 600–800, samplers =
    population ÷ 360 for a day (more for a shorter deadline), tubes at the pool size."""
    per_day = 24 / hours
    tubes = math.ceil(population / pool_size)
    return {
        "points_min": math.ceil(population / 3000),
        "points_max": math.ceil(population / 2000),
        "desks_min": math.ceil(population / 800),
        "desks_max": math.ceil(population / 600),
        "samplers": math.ceil(population / 360 * per_day),
        "tubes": tubes,
        "lab_per_day": math.ceil(tubes * per_day),
    }


def plan_round(*, node: Jurisdiction, hours: int = 24, pool_size: int = 10) -> list[PlanRow]:
    """Need against what the registry holds, per district (or the node itself below district level)."""
    levels = [choice.value for choice in Level]
    if levels.index(node.level) < levels.index(Level.DISTRICT):
        areas = list(
            Jurisdiction.objects.filter(path__startswith=node.path, level=Level.DISTRICT).order_by(
                "path"
            )
        )
    else:
        areas = [node]
    rows = []
    for area in areas:
        population = (
            Person.objects.filter(jpath__startswith=area.path).count() or area.population or 0
        )
        need = plan_numbers(population, hours=hours, pool_size=pool_size)
        sites = Site.objects.filter(jpath__startswith=area.path, kind=Site.Kind.FIXED).aggregate(
            n=Count("id"), desks=Sum("desks"), samplers=Sum("samplers")
        )
        team_samplers = (
            Site.objects.filter(jpath__startswith=area.path, kind=Site.Kind.HOME_TEAM).aggregate(
                s=Sum("samplers")
            )["s"]
            or 0
        )
        capacity = (
            Lab.objects.filter(jpath__startswith=area.path).aggregate(c=Sum("daily_capacity"))["c"]
            or 0
        )
        row = PlanRow(
            node=area,
            population=population,
            **need,
            have_points=sites["n"] or 0,
            have_desks=sites["desks"] or 0,
            have_samplers=(sites["samplers"] or 0) + team_samplers,
            have_lab_per_day=capacity,
        )
        row.shortfall = {
            "points": max(0, row.points_min - row.have_points),
            "desks": max(0, row.desks_min - row.have_desks),
            "samplers": max(0, row.samplers - row.have_samplers),
            "lab_per_day": max(0, row.lab_per_day - row.have_lab_per_day),
        }
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- frequency and rotation


@dataclass
class Proposal:
    next_on: dt.date | None  # None: stop testing this area
    interval_days: int | None
    reason: str


def frequency_next(
    *, history: list[tuple[dt.date, int]], last_case_on: dt.date | None, today: dt.date
) -> Proposal:
    """The next round for an area from its past rounds [(day, positives)], oldest first.

    Daily where the last three rounds all found cases; every other day where a case occurred in
    the last 14 days; every 5 days otherwise; stop after three clean rounds and one more three days
    after the third."""
    rounds = sorted(history)
    proposal = _frequency(rounds, last_case_on, today)
    if proposal.next_on is not None and proposal.next_on < today:
        # Overdue already: the next round is today.
        proposal.next_on = today
    return proposal


def _frequency(rounds, last_case_on, today) -> Proposal:
    last = rounds[-1][0] if rounds else today
    clean_tail = 0
    for _day, positives in reversed(rounds):
        if positives:
            break
        clean_tail += 1
    if clean_tail >= 4 and (rounds[-1][0] - rounds[-2][0]).days >= 3:
        return Proposal(None, None, "stop: three clean rounds and a last one three days later")
    if clean_tail >= 3:
        return Proposal(
            rounds[-1 - (clean_tail - 3)][0] + dt.timedelta(days=3),
            3,
            "three clean rounds: one more three days later, then stop",
        )
    if len(rounds) >= 3 and all(positives for _day, positives in rounds[-3:]):
        return Proposal(last + dt.timedelta(days=1), 1, "daily: the last three rounds found cases")
    if last_case_on is not None and (today - last_case_on).days <= 14:
        return Proposal(last + dt.timedelta(days=2), 2, "every other day: cases within 14 days")
    return Proposal(last + dt.timedelta(days=5), 5, "every 5 days")


def frequency_propose(*, node: Jurisdiction, today: dt.date | None = None) -> Proposal:
    """Apply the rule to the rounds that covered `node`, counting positives found inside it."""
    from .models import PositiveFinding, TemporaryControl

    today = today or timezone.localdate()
    ancestors = paths.ancestors(node.path)
    rounds = Round.objects.filter(
        Q(scope_nodes__path__in=ancestors) | Q(scope_nodes__path__startswith=node.path)
    ).distinct()
    inside = {"round__in": rounds, "jpath__startswith": node.path}
    findings = dict(
        PositiveFinding.objects.filter(**inside)
        .values("round")
        .annotate(n=Count("id"))
        .values_list("round", "n")
    )
    pools = dict(
        TemporaryControl.objects.filter(**inside)
        .values("round")
        .annotate(n=Count("tube", distinct=True))
        .values_list("round", "n")
    )
    history = [
        (
            timezone.localtime(r.starts_at or r.created_at).date(),
            findings.get(r.pk, 0) + pools.get(r.pk, 0),
        )
        for r in rounds
    ]
    last_case = (
        PositiveFinding.objects.filter(jpath__startswith=node.path)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return frequency_next(
        history=history,
        last_case_on=timezone.localtime(last_case).date() if last_case else None,
        today=today,
    )


def rotation_plan(
    *, actor, round_: Round, nodes: list[Jurisdiction], first_day: dt.date, days: int
) -> list[RotationSlot]:
    """区域轮流: spread the areas over `days` days with about the same number of people each day."""
    if days < 1:
        raise TestingError(_("a rotation needs at least one day"))
    sizes = {n.pk: Person.objects.filter(jpath__startswith=n.path).count() for n in nodes}
    load = [0] * days
    slots = []
    for node in sorted(nodes, key=lambda n: (-sizes[n.pk], n.path)):
        day = min(range(days), key=lambda d: (load[d], d))
        load[day] += sizes[node.pk]
        slots.append(
            RotationSlot(round=round_, jurisdiction=node, day=first_day + dt.timedelta(days=day))
        )
    with transaction.atomic():
        RotationSlot.objects.filter(round=round_).delete()
        RotationSlot.objects.bulk_create(slots)
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            obj=round_,
            jurisdiction_path=min(n.path for n in nodes),
            changes={
                "rotation": {
                    n.code: str(s.day)
                    for n, s in zip([s.jurisdiction for s in slots], slots, strict=True)
                }
            },
        )
    return sorted(slots, key=lambda s: (s.day, s.jurisdiction.path))


# --------------------------------------------------------------------------- turnaround


def turnaround_state(tube: Tube, *, now: dt.datetime, warning_hours: int, breach_hours: int) -> str:
    """'ok', 'warning' or 'breach' for a tube still waiting for its result (hours since sampling)."""
    if tube.reported_at is not None or tube.sampled_at is None:
        return "ok"
    hours = (now - tube.sampled_at).total_seconds() / 3600
    if hours >= breach_hours:
        return "breach"
    if hours >= warning_hours:
        return "warning"
    return "ok"
