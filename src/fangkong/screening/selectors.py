"""Reads of door-to-door screening, scoped first: campaigns, coverage from the grid counters, the
grid worker's worklist, the unreached households, visits and findings."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from fangkong.accounts.roles import can_see_pii
from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import errors, paths
from fangkong.common.keyset import ByteOrder
from fangkong.common.masking import age_band, mask_id_number, mask_phone
from fangkong.common.scope import actor_path, fetch, scoped
from fangkong.geo.models import Jurisdiction
from fangkong.people.models import Person

from .models import Assignment, Campaign, Finding, GridCoverage, Visit


def _overlap_q(actor) -> Q:
    """Campaigns inside the actor's subtree or above it (a city campaign, seen from a grid)."""
    prefix = actor_path(actor)
    if prefix is None:
        return Q(pk__in=[])
    if prefix == paths.ROOT:
        return Q()
    return Q(jpath__startswith=prefix) | Q(jpath__in=paths.ancestors(prefix))


def campaign_list(*, actor) -> QuerySet[Campaign]:
    return Campaign.objects.filter(_overlap_q(actor)).select_related("jurisdiction")


def access_campaign(actor, pk) -> Campaign:
    return fetch(campaign_list(actor=actor), pk=pk)


def visible_prefix(actor, campaign: Campaign) -> str:
    """The part of the campaign the actor sees: the deeper of the two subtrees."""
    mine = actor_path(actor) or ""
    return mine if mine.startswith(campaign.jpath) else campaign.jpath


def _node(actor, campaign: Campaign, code: str | None) -> str:
    prefix = visible_prefix(actor, campaign)
    if not code:
        return prefix
    node = Jurisdiction.objects.filter(code=str(code)[:24]).only("path").first()
    if node is None or not node.path.startswith(prefix):
        raise errors.NotFound()
    return node.path


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _figures(households=0, visited=0, residents=0, people_seen=0, findings=0) -> dict:
    return {
        "households": households,
        "visited": visited,
        "unreached": households - visited,
        "coverage": _share(visited, households),
        "residents": residents,
        "people_seen": people_seen,
        "people_coverage": _share(people_seen, residents),
        "findings": findings,
    }


def coverage(*, actor, campaign: Campaign, node: str | None = None) -> dict:
    """Households visited / in scope and people seen, for the node, for each of its children one
    level down, per level (how many units are finished), and the overdue grids. It sums the grid
    counters the visit writer keeps: one range scan over the campaign's grid rows."""
    prefix = _node(actor, campaign, node)
    rows = list(
        GridCoverage.objects.filter(campaign=campaign, jpath__startswith=prefix).values_list(
            "grid_id",
            "jpath",
            "households",
            "visited",
            "residents",
            "people_seen",
            "findings",
            "deadline",
        )
    )
    now = timezone.now()
    depth = paths.depth(prefix)
    totals = [0, 0, 0, 0, 0]
    children: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    levels: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    overdue = []
    for grid_id, jpath, households, visited, residents, seen, findings, deadline in rows:
        # The grid's ancestors below the node, built once from its codes (this loop runs once
        # per grid of a 10-million city: no re-splitting of the path per level).
        prefixes = []
        acc = "/"
        for code in jpath[1:-1].split("/"):
            acc += code + "/"
            prefixes.append(acc)
        child = prefixes[depth] if len(prefixes) > depth else jpath
        totals[0] += households
        totals[1] += visited
        totals[2] += residents
        totals[3] += seen
        totals[4] += findings
        row = children[child]
        row[0] += households
        row[1] += visited
        row[2] += residents
        row[3] += seen
        row[4] += findings
        for level in range(depth, len(prefixes)):
            unit = levels[level + 1][prefixes[level]]
            unit[0] += households
            unit[1] += visited
        if visited < households and (deadline or campaign.deadline) < now:
            overdue.append((jpath, grid_id, households, visited, deadline or campaign.deadline))
    names = {
        j.path: j
        for j in Jurisdiction.objects.filter(
            path__in=list(children) + [o[0] for o in overdue] + [prefix]
        )
    }

    def named(path: str) -> dict:
        node = names.get(path)
        return {
            "code": node.code if node else "",
            "name": node.name if node else "",
            "level": node.level if node else "",
        }

    return {
        "campaign": campaign.pk,
        "node": named(prefix),
        "deadline": campaign.deadline,
        "totals": _figures(*totals),
        "children": [{**named(path), **_figures(*children[path])} for path in sorted(children)],
        "levels": [
            {
                "depth": level,
                "units": len(units),
                "finished": sum(1 for h, v in units.values() if v >= h),
            }
            for level, units in sorted(levels.items())
        ],
        "overdue": [
            {
                **named(path),
                "households": households,
                "visited": visited,
                "unreached": households - visited,
                "deadline": deadline,
            }
            for path, _grid, households, visited, deadline in sorted(overdue)
        ],
    }


def campaign_totals(*, actor, campaigns: list[Campaign]) -> dict[int, dict]:
    """The totals of many campaigns (the list page), each over the part the actor sees: one
    GROUP BY over the grid counters."""
    out: dict[int, dict] = {}
    by_prefix: dict[str, list[int]] = defaultdict(list)
    for campaign in campaigns:
        by_prefix[visible_prefix(actor, campaign)].append(campaign.pk)
    for prefix, ids in by_prefix.items():
        rows = (
            GridCoverage.objects.filter(campaign_id__in=ids, jpath__startswith=prefix)
            .values("campaign_id")
            .annotate(
                h=Sum("households"),
                v=Sum("visited"),
                r=Sum("residents"),
                s=Sum("people_seen"),
                f=Sum("findings"),
            )
        )
        for row in rows:
            out[row["campaign_id"]] = _figures(row["h"], row["v"], row["r"], row["s"], row["f"])
    return {c.pk: out.get(c.pk, _figures()) for c in campaigns}


def assignment_list(*, actor, campaign: Campaign) -> QuerySet[Assignment]:
    return scoped(Assignment.objects.filter(campaign=campaign), actor)


def access_assignment(actor, pk) -> Assignment:
    return fetch(scoped(Assignment.objects.select_related("campaign"), actor), pk=pk)


def access_assignment_of(actor, campaign: Campaign, household_code: str) -> Assignment:
    """A household's assignment in the campaign, named by the household's code (the page form)."""
    return fetch(
        scoped(Assignment.objects.filter(campaign=campaign).select_related("campaign"), actor),
        household__code=(household_code or "").strip()[:64],
    )


def unreached_list(*, actor, campaign: Campaign, node: str | None = None) -> QuerySet[Assignment]:
    prefix = _node(actor, campaign, node)
    return (
        assignment_list(actor=actor, campaign=campaign)
        .filter(visited_at__isnull=True, jpath__startswith=prefix)
        .select_related("household", "household__building", "grid")
        # The (campaign, jpath in byte order, household) index gives the grid order; within a
        # grid, the registry's order (building by building): a first page never sorts a city's
        # millions of rows.
        .order_by(ByteOrder("jpath").asc(), "household_id")
    )


def _member(person: Person, unmasked: bool) -> dict:
    today = timezone.localdate()
    age = (
        today.year
        - person.birth_date.year
        - ((today.month, today.day) < (person.birth_date.month, person.birth_date.day))
    )
    return {
        "id": person.pk,
        "name": person.name,
        "sex": person.sex,
        "age": age if unmasked else None,
        "age_band": age_band(age),
        "document_number": person.document_number
        if unmasked
        else mask_id_number(person.document_number),
        "phone": person.phone if unmasked else mask_phone(person.phone),
        "tags": person.tags,
    }


def worklist(*, actor, campaign: Campaign) -> dict:
    """The grid worker's households, building by building, with the registered members: what the
    phone caches for a day offline. Full numbers only for roles that may see them, audited."""
    assignments = list(
        assignment_list(actor=actor, campaign=campaign)
        .filter(Q(worker__isnull=True) | Q(worker_id=getattr(actor, "pk", None)))
        .select_related("household", "household__building", "grid")
        .order_by("household__building__code", "household__room", "id")
    )
    members = defaultdict(list)
    unmasked = can_see_pii(actor)
    people = Person.objects.filter(household_id__in=[a.household_id for a in assignments]).order_by(
        "birth_date", "id"
    )
    for person in people:
        members[person.household_id].append(_member(person, unmasked))
    if unmasked and members:
        audit_record(
            actor=actor,
            action=Action.VIEW_PII,
            obj=campaign,
            jurisdiction_path=actor_path(actor) or campaign.jpath,
            changes={
                "fields": ["document_number", "phone", "birth_date"],
                "people": sorted(p["id"] for rows in members.values() for p in rows),
            },
        )
    buildings: dict[int, dict] = {}
    for a in assignments:
        building = a.household.building
        entry = buildings.setdefault(
            building.pk,
            {
                "id": building.pk,
                "name": building.name,
                "address": building.address,
                "households": [],
            },
        )
        entry["households"].append(
            {
                "assignment": a.pk,
                "version": a.version,
                "household": a.household_id,
                "room": a.household.room,
                "address": a.household.address,
                "grid": a.grid.name,
                "visited_at": a.visited_at,
                "visits": a.visits,
                "members": members.get(a.household_id, []),
            }
        )
    return {
        "campaign": {
            "id": campaign.pk,
            "code": campaign.code,
            "name": campaign.name,
            "deadline": campaign.deadline,
            "status": campaign.status,
            "questions": campaign.questions,
            "risk_days": campaign.risk_days,
        },
        "fetched_at": timezone.now(),
        "buildings": list(buildings.values()),
    }


def visit_list(*, actor) -> QuerySet[Visit]:
    return scoped(Visit.objects.all(), actor).select_related(
        "assignment__household", "campaign", "worker"
    )


def access_visit(actor, pk) -> Visit:
    return fetch(visit_list(actor=actor), pk=pk)


def finding_list(*, actor) -> QuerySet[Finding]:
    return scoped(Finding.objects.all(), actor).select_related(
        "visit__assignment__household", "campaign", "person"
    )


def access_finding(actor, pk) -> Finding:
    return fetch(finding_list(actor=actor), pk=pk)


def assignment_list_all(*, actor) -> QuerySet[Assignment]:
    return scoped(Assignment.objects.all(), actor)


def access_node(actor, code: str, *, level: str | None = None):
    """A jurisdiction named by its code, inside the actor's subtree, else NotFound (an
    out-of-scope code reads as unknown: no oracle), before any work is done with it."""
    from fangkong.geo.models import Jurisdiction

    qs = scoped(Jurisdiction.objects.all(), actor, "path")
    if level is not None:
        qs = qs.filter(level=level)
    return fetch(qs, code=(code or "")[:64])  # the API's stable code stays not_found


def access_login(actor, username: str):
    """A login named by its username whose node is inside the actor's subtree, else NotFound."""
    from django.contrib.auth import get_user_model

    qs = scoped(
        get_user_model().objects.select_related("jurisdiction"), actor, "jurisdiction__path"
    )
    return fetch(qs, username=(username or "").strip()[:150])
