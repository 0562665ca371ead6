"""Reads of mass testing, every one scoped to the actor's subtree first."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from fangkong.common import errors, paths
from fangkong.common.scope import access, actor_path, fetch, overlap_sql, scope_sql, scoped
from fangkong.geo.models import Jurisdiction, Level
from fangkong.geo.selectors import actor_node  # noqa: F401  (the views' selectors.actor_node)
from fangkong.people.models import Person

from . import bulk
from .models import (
    Box,
    Exemption,
    GridStat,
    Lab,
    PositiveFinding,
    Recheck,
    Round,
    Sample,
    Site,
    TemporaryControl,
    TestOrder,
    Tube,
    TurnaroundStat,
)


def round_list(*, actor) -> QuerySet[Round]:
    """Rounds whose scope overlaps the actor's subtree: above it (the city round a grid worker
    works in) or inside it (a district round seen by the city)."""
    prefix = actor_path(actor)
    qs = Round.objects.all()
    if prefix is None:
        return qs.none()
    if prefix != "/":
        inside = Q(scope_nodes__path__startswith=prefix) | Q(
            scope_nodes__path__in=paths.ancestors(prefix)
        )
        qs = qs.filter(pk__in=Round.objects.filter(inside).values("pk"))
    return qs.order_by("-created_at", "-id")


def access_round(actor, code_or_id) -> Round:
    lookup = {"pk": int(code_or_id)} if str(code_or_id).isdigit() else {"code": code_or_id}
    return fetch(round_list(actor=actor), **lookup)


def site_list(*, actor) -> QuerySet[Site]:
    return scoped(Site.objects.select_related("jurisdiction"), actor)


def access_site(actor, code: str) -> Site:
    return access(Site.objects.select_related("jurisdiction"), actor, code=code)


def lab_list(*, actor) -> QuerySet[Lab]:
    return scoped(Lab.objects.select_related("jurisdiction"), actor)


def access_lab(actor, code: str) -> Lab:
    return access(Lab.objects.all(), actor, code=code)


def _tube_scope(actor) -> Q:
    prefix = actor_path(actor)
    if prefix is None:
        return Q(pk__in=[])
    if prefix == "/":
        return Q()
    # Lab staff see the tubes their lab received as well as tubes sampled in their subtree.
    return Q(jpath__startswith=prefix) | Q(lab__jpath__startswith=prefix)


def tube_list(*, actor, round_: Round | None = None, status: str | None = None) -> QuerySet[Tube]:
    qs = Tube.objects.filter(_tube_scope(actor)).select_related("site", "lab", "round")
    if round_ is not None:
        qs = qs.filter(round=round_)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def access_tube(actor, barcode: str) -> Tube:
    return fetch(
        Tube.objects.filter(_tube_scope(actor)).select_related("site", "lab", "round"),
        barcode=barcode,
    )


def rotation_list(*, actor, round_: Round) -> list:
    """The round's rotation (which area samples on which day) inside or above the actor's node."""
    from .models import RotationSlot

    prefix = actor_path(actor)
    if prefix is None:
        return []
    slots = RotationSlot.objects.filter(round=round_).select_related("jurisdiction")
    return [s for s in slots if paths.overlaps(s.jurisdiction.path, prefix)]


def _box_scope(actor) -> Q:
    prefix = actor_path(actor)
    if prefix is None:
        return Q(pk__in=[])
    if prefix == "/":
        return Q()
    # The lab a box travels to sees it as well as the site that packed it.
    return Q(jpath__startswith=prefix) | Q(lab__jpath__startswith=prefix)


def box_list(*, actor) -> QuerySet[Box]:
    return (
        Box.objects.filter(_box_scope(actor))
        .select_related("site", "lab")
        .annotate(tube_count=Count("tubes"))
        .order_by("-created_at", "-id")
    )


def access_box(actor, code: str) -> Box:
    return fetch(Box.objects.filter(_box_scope(actor)).select_related("site", "lab"), code=code)


def tube_members(*, actor, tube: Tube) -> QuerySet[Person]:
    return scoped(
        Person.objects.filter(testing_samples__tube=tube).select_related("grid"), actor
    ).order_by("id")


def recheck_list(
    *, actor, round_: Round | None = None, status: str | None = None
) -> QuerySet[Recheck]:
    qs = scoped(
        Recheck.objects.select_related("person", "person__grid", "source_tube", "round"), actor
    )
    if round_ is not None:
        qs = qs.filter(round=round_)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("status", "created_at", "id")


def finding_list(*, actor, round_: Round | None = None) -> QuerySet[PositiveFinding]:
    qs = scoped(
        PositiveFinding.objects.select_related("person", "person__grid", "tube", "round"), actor
    )
    return qs.filter(round=round_) if round_ is not None else qs


def control_list(
    *, actor, round_: Round | None = None, active: bool = True
) -> QuerySet[TemporaryControl]:
    qs = scoped(
        TemporaryControl.objects.select_related("person", "person__grid", "tube", "round"), actor
    )
    if round_ is not None:
        qs = qs.filter(round=round_)
    return qs.filter(released_at__isnull=True) if active else qs


def untested_list(*, actor, round_: Round, node: Jurisdiction | None = None) -> QuerySet[Person]:
    """People of the actor's subtree (or a node inside it) not yet sampled in the round."""
    within = node.path if node is not None else actor_path(actor)
    if within is None:
        return Person.objects.none()
    sql, params = bulk.untested_sql(round_, within if within != "/" else "/")
    home = Exemption.objects.filter(round=round_, person=OuterRef("pk"), home_visit=True)
    return (
        scoped(Person.objects.filter(id__in=_raw_ids(sql, params)), actor)
        .select_related("grid")
        .annotate(home_visit=Exists(home))
        .order_by("jpath", "name", "id")
    )


def missed_before(*, actor, round_: Round, people: list[Person], last: int = 4) -> dict[int, int]:
    """For each person, in how many of the `last` earlier rounds covering them they were not
    sampled (the grid worker's repeat absentees). Two queries for a page of people."""
    earlier = [
        r for r in round_list(actor=actor).prefetch_related("scope_nodes") if r.pk != round_.pk
    ]
    earlier = [r for r in earlier if r.created_at <= round_.created_at][:last]
    if not people or not earlier:
        return {p.pk: 0 for p in people}
    sampled = set(
        Sample.objects.filter(round__in=earlier, person__in=people).values_list(
            "round_id", "person_id"
        )
    )
    missed = {}
    for person in people:
        covering = [
            r for r in earlier if any(person.jpath.startswith(n.path) for n in r.scope_nodes.all())
        ]
        missed[person.pk] = sum((r.pk, person.pk) not in sampled for r in covering)
    return missed


def site_throughput(*, actor, round_: Round, site: Site | None = None) -> list[dict]:
    """Swabs per site per hour (Asia/Shanghai) of the round, from the tubes' close times."""
    from django.db.models.functions import TruncHour

    qs = tube_list(actor=actor, round_=round_).filter(sampled_at__isnull=False)
    if site is not None:
        qs = qs.filter(site=site)
    rows = (
        qs.order_by()
        .annotate(hour=TruncHour("sampled_at", tzinfo=timezone.get_default_timezone()))
        .values("site__code", "site__name", "hour")
        .annotate(swabs=Sum("members"), tubes=Count("id"))
        .order_by("site__code", "hour")
    )
    return [
        {
            "site": row["site__code"],
            "name": row["site__name"],
            "hour": row["hour"],
            "tubes": row["tubes"],
            "swabs": row["swabs"] or 0,
        }
        for row in rows
    ]


def _raw_ids(sql, params):
    from django.db.models.expressions import RawSQL

    return RawSQL(sql, params)


def missed_rounds(*, actor, rounds: list[Round], min_missed: int = 2) -> list[tuple[Person, int]]:
    """People of the actor's subtree missed in at least `min_missed` of the given rounds."""
    missed: dict[int, int] = defaultdict(int)
    prefix = actor_path(actor)
    if prefix is None:
        return []
    for round_ in rounds:
        sql, params = bulk.untested_sql(round_, prefix)
        for (person_id,) in bulk._rows(sql, params):
            missed[person_id] += 1
    ids = [pid for pid, n in missed.items() if n >= min_missed]
    people = scoped(Person.objects.filter(id__in=ids).select_related("grid"), actor).order_by(
        "jpath", "name"
    )
    return [(p, missed[p.pk]) for p in people]


# --------------------------------------------------------------------------- progress


INLINE_RECOUNT = 500_000  # people: up to here a page may recount a stale round itself
STAT_FIELDS = ["expected", "sampled", "resulted", "negative", "recheck", "positive", "resample"]


def round_progress(
    *, actor, round_: Round, node: Jurisdiction | None = None, max_age_seconds: int = 300
) -> dict:
    """Counts of the round for the actor's node (or one inside it) and each of its children.

    Reads the per-grid counts; when they are missing or older than `max_age_seconds` they are
    recounted first (one statement)."""
    prefix = node.path if node is not None else actor_path(actor)
    if prefix is None:
        raise errors.NotFound
    if node is None and prefix != "/":
        node = Jurisdiction.objects.get(path=prefix)
    stats = GridStat.objects.filter(round=round_)
    newest = stats.order_by("-refreshed_at").values_list("refreshed_at", flat=True).first()
    if newest is None:
        bulk.stats_refresh(round_id=round_.pk)
        newest = timezone.now()
    elif (timezone.now() - newest).total_seconds() > max_age_seconds:
        # Imports keep the counts exact; only desk scans since then are missing. A district's
        # recount is quick, a city's takes a minute: that one goes to the worker (with Redis)
        # and the page shows the counts it has, with their time.
        from django.conf import settings

        if settings.REDIS_URL:
            bulk.stats_refresh_later(round_)
        elif (stats.aggregate(n=Sum("expected"))["n"] or 0) <= INLINE_RECOUNT:
            bulk.stats_refresh(round_id=round_.pk)
            newest = timezone.now()
    rows = list(
        stats.filter(path__startswith=prefix if prefix != "/" else "/").values_list(
            "path", *STAT_FIELDS
        )
    )
    if node is not None:
        children = list(Jurisdiction.objects.filter(parent=node).order_by("path"))
    else:
        children = list(Jurisdiction.objects.filter(parent__isnull=True).order_by("path"))
    total = dict.fromkeys(STAT_FIELDS, 0)
    by_child = {child.path: dict.fromkeys(STAT_FIELDS, 0) for child in children}
    for path, *values in rows:
        for key, value in zip(STAT_FIELDS, values, strict=True):
            total[key] += value
        for child_path in by_child:
            if path.startswith(child_path):
                for key, value in zip(STAT_FIELDS, values, strict=True):
                    by_child[child_path][key] += value
                break
    return {
        "node": node,
        "total": _rates(total),
        "refreshed_at": newest,
        "children": [
            {"node": child, **_rates(by_child[child.path])}
            for child in children
            if by_child[child.path]["expected"]
        ],
    }


def _rates(counts: dict) -> dict:
    expected = counts["expected"] or 0
    return {**counts, "coverage": round(100 * counts["sampled"] / expected, 1) if expected else 0.0}


# --------------------------------------------------------------------------- turnaround


def turnaround(*, actor, round_: Round, by: str = "site") -> list[dict]:
    """Mean hours from sampling to report per site or lab (or for the whole round: by='round'),
    over the tubes the actor sees: sampled in their subtree or reported by a lab in it. Read from
    the counts the results keep up to date, not from the tubes."""
    prefix = actor_path(actor)
    qs = TurnaroundStat.objects.filter(round=round_)
    if prefix is None:
        return []
    if prefix != "/":
        qs = qs.filter(Q(jpath__startswith=prefix) | Q(lab_path__startswith=prefix))
    key = {"site": "site__code", "lab": "lab__code", "round": "round__code"}[by]
    rows = qs.order_by().values(key).annotate(n=Sum("tubes"), s=Sum("seconds")).order_by(key)
    return [
        {"key": row[key], "tubes": row["n"], "mean_hours": round(row["s"] / row["n"] / 3600, 2)}
        for row in rows
        if row["n"]
    ]


def overdue_tubes(*, actor, round_: Round, now: dt.datetime | None = None) -> QuerySet[Tube]:
    """Tubes sampled at least the warning threshold ago and not reported, oldest first, each with
    `level` = 'warning' or 'breach'."""
    now = now or timezone.now()
    warning, breach = round_.thresholds
    qs = (
        tube_list(actor=actor, round_=round_)
        .filter(reported_at__isnull=True, sampled_at__lte=now - dt.timedelta(hours=warning))
        .exclude(status=Tube.Status.OPEN)
    )
    from django.db.models import Case, CharField, Value, When

    return qs.annotate(
        level=Case(
            When(sampled_at__lte=now - dt.timedelta(hours=breach), then=Value("breach")),
            default=Value("warning"),
            output_field=CharField(),
        )
    ).order_by("sampled_at", "id")


# Columns of the scanner's one lookup: the site and person parts come back as plain values.
_SITE_COLS = ("id", "code", "name", "kind", "jurisdiction_id", "jpath", "address", "latitude")
_SITE_COLS += ("longitude", "opening_hours", "desks", "samplers")
_PERSON_COLS = ("id", "document_type", "document_number", "jpath", "grid_id")


def scan_targets(
    actor, round_code, site_code: str, number: str
) -> tuple[Round, Site, Person | None]:
    """The scanner's round, site and person in one query, with the same guards as access_round and
    access_site (outside the actor's subtree they do not exist: 404). The person is None when
    `number` is empty, unknown or a resident outside the actor's subtree (the same thing to the
    scanner, so a scan cannot tell whether a number exists elsewhere); the caller decides what
    that means."""
    sql, params = scan_targets_sql(actor, round_code, site_code, number)
    return scan_targets_from(list(Round.objects.raw(sql, params)))


def scan_targets_sql(actor, round_code, site_code: str, number: str) -> tuple[str, list]:
    """scan_targets' statement, for it and for the one-statement scan (services.scan_in_one)."""
    from fangkong.people.models import DocumentType

    # The guard's own SQL (common.scope), not a second derivation of who sees what: a round is
    # visible when a scope node lies inside the actor's subtree or above it, a site when inside.
    round_seen, round_params = overlap_sql(actor, "rs.path")
    site_seen, site_params = scope_sql(actor, "s.jpath")
    jurisdiction_id = getattr(actor, "jurisdiction_id", None)
    fallback = "/" if jurisdiction_id is None and getattr(actor, "is_superuser", False) else None
    by_pk = str(round_code).isdigit()
    types = list(DocumentType.values)
    marks = ", ".join(["%s"] * len(types))
    site_sql = ", ".join(f"s.{c} AS s__{c}" for c in _SITE_COLS)
    person_sql = ", ".join(f"p.{c} AS p__{c}" for c in _PERSON_COLS)
    sql = (
        f"SELECT r.*, {site_sql}, {person_sql}, "
        "CASE WHEN EXISTS (SELECT 1 FROM testing_roundscope rs WHERE rs.round_id = r.id "
        f"AND {round_seen}) THEN 1 ELSE 0 END AS round_visible, "
        f"CASE WHEN s.id IS NOT NULL AND {site_seen} THEN 1 ELSE 0 END AS site_visible "
        "FROM testing_round r "
        # The sampling area (sampling_area below): the actor's district, by parent keys. Not who
        # may see what (that is the guard above) but whose numbers a desk may swab.
        "CROSS JOIN (SELECT COALESCE((SELECT COALESCE(CASE WHEN a.level = 'district' THEN a.path END, "
        "CASE WHEN j1.level = 'district' THEN j1.path END, "
        "CASE WHEN j2.level = 'district' THEN j2.path END, "
        "CASE WHEN j3.level = 'district' THEN j3.path END, a.path) FROM geo_jurisdiction a "
        "LEFT JOIN geo_jurisdiction j1 ON j1.id = a.parent_id "
        "LEFT JOIN geo_jurisdiction j2 ON j2.id = j1.parent_id "
        "LEFT JOIN geo_jurisdiction j3 ON j3.id = j2.parent_id WHERE a.id = %s), %s) AS area) x "
        "LEFT JOIN testing_site s ON s.code = %s "
        f"LEFT JOIN people_person p ON p.document_type IN ({marks}) AND p.document_number = %s "
        # Only residents of the sampling area: another district's number reads as no number.
        "AND (x.area = '/' OR substr(p.jpath, 1, length(x.area)) = x.area) "
        f"WHERE r.{'id' if by_pk else 'code'} = %s ORDER BY p.id LIMIT 1"
    )
    return sql, [
        *round_params,
        *site_params,
        jurisdiction_id,
        fallback,
        site_code,
        *types,
        number,
        round_code,
    ]


def sampling_area(actor) -> str | None:
    """Whose numbers a scanner may look up: residents of the actor's district (a sampling site
    serves the grids and streets around it), or of the actor's own subtree above district level.

    A resident of another district and a number nobody holds answer alike, so the scanner is no
    oracle for the city's registry; within the district a hit leaves a swab with scanned_by."""
    jurisdiction = getattr(actor, "jurisdiction", None)
    if jurisdiction is None:
        return "/" if getattr(actor, "is_superuser", False) else None
    node = jurisdiction
    for _hop in range(4):
        if node is None or node.level == Level.DISTRICT:
            break
        node = node.parent
    return node.path if node is not None and node.level == Level.DISTRICT else jurisdiction.path


def scan_targets_from(found: list) -> tuple[Round, Site, Person | None]:
    if not found or not found[0].round_visible:
        raise errors.NotFound
    row = found[0]
    if not row.site_visible:
        raise errors.NotFound
    db = Round.objects.db
    site = _from_row(Site, db, row, "s", _SITE_COLS)
    person = _from_row(Person, db, row, "p", _PERSON_COLS) if row.p__id is not None else None
    return row, site, person


def _from_row(model, db, row, prefix: str, columns: tuple[str, ...]):
    # Model.from_db takes a partial row's values in the model's field order, not the query's.
    names = [f.attname for f in model._meta.concrete_fields if f.attname in columns]
    return model.from_db(db, names, [getattr(row, f"{prefix}__{c}") for c in names])


def test_orders_due(*, actor, node: Jurisdiction | None = None) -> QuerySet[TestOrder]:
    """Open test orders of the actor's subtree (or a node inside it) whose person has not been
    swabbed since the order was placed, soonest deadline first."""
    from . import roles

    if not roles.can_view_test_orders(actor):
        return TestOrder.objects.none()
    qs = scoped(TestOrder.objects.filter(status=TestOrder.Status.OPEN), actor)
    if node is not None:
        qs = qs.filter(jpath__startswith=node.path)
    swabbed = Sample.objects.filter(
        person=OuterRef("person_id"), sampled_at__gte=OuterRef("created_at")
    )
    return (
        qs.annotate(swabbed=Exists(swabbed))
        .filter(swabbed=False)
        .select_related("person", "person__grid")
        .order_by("due_by", "id")
    )
