"""Reads of the tracing module, scoped to the actor's jurisdiction first: cases, the five-earlies
intervals, leads, the transmission graph with its clusters and generations, co-location runs."""

from __future__ import annotations

import json
import logging
import statistics
from collections import Counter, defaultdict

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from fangkong.common.scope import access, actor_path, scoped

from .models import (
    Activity,
    Case,
    Classification,
    ClusterEvent,
    ColocationRun,
    Contact,
    ContactLink,
    Exposure,
    LeadState,
)
from .services import CLUSTER_MIN_CASES

log = logging.getLogger(__name__)

# (key, label, from field, to field, early): the five earlies as intervals between moments.
# `early` says when the second moment may come first for good reason, counting as 0 h (the best
# possible): "always" — a case isolated or reported before its onset was found under control or
# by screening; or a field — admitted before diagnosis is fine for a carrier admitted once
# reported and confirmed in hospital, but not before it was reported. Anywhere else a negative
# interval is bad data: flagged and left out of the means, never averaged in.
INTERVALS = [
    ("onset_to_visit", _("Onset → first medical visit"), "onset_at", "first_visit_at", None),
    ("visit_to_report", _("First visit → report"), "first_visit_at", "reported_at", None),
    ("onset_to_report", _("Onset → report"), "onset_at", "reported_at", "always"),
    ("report_to_diagnosis", _("Report → diagnosis"), "reported_at", "diagnosed_at", None),
    ("onset_to_isolation", _("Onset → isolation"), "onset_at", "isolated_at", "always"),
    (
        "diagnosis_to_admission",
        _("Diagnosis → admission"),
        "diagnosed_at",
        "admitted_at",
        "reported_at",
    ),
]


def case_list(*, actor, filters: dict | None = None) -> QuerySet[Case]:
    qs = scoped(Case.objects.all(), actor, "jpath").select_related(
        "person", "person__grid", "cluster_event"
    )
    filters = filters or {}
    for field in ("classification", "severity", "found_by"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    if filters.get("since"):
        qs = qs.filter(report_date__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(report_date__lte=filters["until"])
    if filters.get("cluster"):
        qs = qs.filter(cluster_event__code=filters["cluster"])
    if filters.get("q"):
        q = filters["q"].strip()
        qs = qs.filter(Q(code__icontains=q) | Q(person__name__icontains=q))
    return qs


def access_case(actor, pk) -> Case:
    return access(
        Case.objects.select_related("person", "person__grid", "cluster_event"),
        actor,
        "jpath",
        pk=pk,
    )


def _hours(a, b) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a).total_seconds() / 3600, 1)


def _interval(row, a: str, b: str, early: str | None) -> tuple[float | None, bool]:
    """(hours, inconsistent) of the interval a → b of a case (an object or a values() row)."""
    get = row.get if isinstance(row, dict) else lambda f: getattr(row, f)
    hours = _hours(get(a), get(b))
    if hours is None or hours >= 0:
        return hours, False
    if early == "always" or (early and get(early) is not None and get(b) >= get(early)):
        return 0.0, False
    return hours, True


def case_intervals(case: Case) -> list[dict]:
    out = []
    for key, label, a, b, early in INTERVALS:
        hours, inconsistent = _interval(case, a, b, early)
        out.append({"key": key, "label": label, "hours": hours, "inconsistent": inconsistent})
    return out


def intervals_aggregate(*, actor, filters: dict | None = None) -> list[dict]:
    """Per interval: how many cases have both moments, mean and median hours (one query).

    Cases whose two moments are in the wrong order are counted in `inconsistent` and left out
    of `cases`, the mean and the median: one admission typed before its diagnosis would
    otherwise pull the city's figure below zero."""
    fields = sorted({f for _k, _l, a, b, e in INTERVALS for f in (a, b, e) if f != "always" and f})
    values: dict[str, list[float]] = defaultdict(list)
    bad: dict[str, int] = defaultdict(int)
    # Only the cases with both moments of at least one interval can count: the others are left
    # in the database (a fresh case has none yet), which gives the same figures.
    measurable = Q()
    for _key, _label, a, b, _early in INTERVALS:
        measurable |= Q(**{f"{a}__isnull": False, f"{b}__isnull": False})
    rows = case_list(actor=actor, filters=filters).filter(measurable).values(*fields).order_by()
    for row in rows:
        for key, _label, a, b, early in INTERVALS:
            hours, inconsistent = _interval(row, a, b, early)
            if inconsistent:
                bad[key] += 1
            elif hours is not None:
                values[key].append(hours)
    out = []
    for key, label, _a, _b, _early in INTERVALS:
        xs = values[key]
        out.append(
            {
                "key": key,
                "label": label,
                "cases": len(xs),
                "mean_hours": round(statistics.fmean(xs), 1) if xs else None,
                "median_hours": round(statistics.median(xs), 1) if xs else None,
                "inconsistent": bad[key],
            }
        )
    return out


def activity_list(*, actor, case_id=None) -> QuerySet[Activity]:
    qs = scoped(Activity.objects.select_related("case"), actor, "case__jpath")
    return qs.filter(case_id=case_id) if case_id else qs


def access_activity(actor, pk) -> Activity:
    return access(Activity.objects.select_related("case"), actor, "case__jpath", pk=pk)


def exposure_list(*, case: Case) -> QuerySet[Exposure]:
    return Exposure.objects.filter(case=case).select_related("source_case")


def contact_list(*, actor, state: str | None = None, case_id=None) -> QuerySet[Contact]:
    qs = scoped(Contact.objects.all(), actor, "jpath").select_related(
        "person", "person__grid", "case"
    )
    if state:
        qs = qs.filter(state=state)
    if case_id:
        qs = qs.filter(
            Q(links__source_case_id=case_id)
            | Q(links__source_contact__links__source_case_id=case_id)
        ).distinct()
    return qs


def worklist(*, actor, state: str = "") -> QuerySet[Contact]:
    """The grid worker's leads: pushed first (to verify), then verified (to put under control)."""
    states = [state] if state else [LeadState.PUSHED, LeadState.VERIFIED]
    return (
        contact_list(actor=actor)
        .filter(state__in=states)
        .prefetch_related(
            Prefetch(
                "links",
                queryset=ContactLink.objects.select_related(
                    "source_case", "source_contact__person"
                ),
            )
        )
        .order_by("state", "-last_exposure_at", "id")
    )


def access_contact(actor, pk) -> Contact:
    return access(
        Contact.objects.select_related("person", "person__grid", "case"), actor, "jpath", pk=pk
    )


def case_contacts(*, actor, case: Case) -> QuerySet[Contact]:
    """The case's close contacts and the secondary contacts exposed to them, in the actor's scope."""
    return contact_list(actor=actor, case_id=case.pk).order_by("kind", "-last_exposure_at", "id")


def lead_counts(*, actor) -> dict[str, int]:
    counts = dict(contact_list(actor=actor).values_list("state").annotate(n=Count("id")).order_by())
    return {state: counts.get(state, 0) for state in LeadState.values}


# --- transmission chains -----------------------------------------------------------------------


def _edges(case_ids: set[int]) -> list[tuple[int, int, str]]:
    """Case → case links (source, infected, setting): exposures naming a source case, and
    contacts who became cases (directly, or through the contact they were exposed to)."""
    edges = set()
    for source, target, setting in Exposure.objects.filter(
        case_id__in=case_ids, source_case_id__in=case_ids
    ).values_list("source_case_id", "case_id", "setting"):
        edges.add((source, target, setting))
    for source, target, setting in ContactLink.objects.filter(
        contact__case_id__in=case_ids, source_case_id__in=case_ids
    ).values_list("source_case_id", "contact__case_id", "setting"):
        edges.add((source, target, setting))
    for source, target, setting in ContactLink.objects.filter(
        contact__case_id__in=case_ids, source_contact__case_id__in=case_ids
    ).values_list("source_contact__case_id", "contact__case_id", "setting"):
        edges.add((source, target, setting))
    seen, out = set(), []
    for source, target, setting in sorted(edges):
        if source != target and (source, target) not in seen:
            seen.add((source, target))
            out.append((source, target, setting))
    return out


def _components(nodes: list[int], edges) -> dict[int, int]:
    parent = {n: n for n in nodes}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _s in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in nodes}


def _generations(nodes, edges) -> dict[int, int]:
    """1 for a case with no known source; otherwise one more than its earliest source's."""
    sources = defaultdict(list)
    for a, b, _s in edges:
        sources[b].append(a)
    memo: dict[int, int] = {}

    def gen(n, path=()):
        if n in memo:
            return memo[n]
        if n in path or not sources[n]:
            memo[n] = 1
            return 1
        memo[n] = 1 + min(gen(s, (*path, n)) for s in sources[n])
        return memo[n]

    return {n: gen(n) for n in nodes}


def transmission_graph(
    *, actor, filters: dict | None = None, min_cases: int = CLUSTER_MIN_CASES
) -> dict:
    """Cases (nodes) and their links in the actor's scope, each case's component and generation,
    and the components: a component of at least `min_cases` cases is a cluster."""
    cases = list(
        case_list(actor=actor, filters=filters)
        .order_by("reported_at", "id")
        .values(
            "id",
            "code",
            "classification",
            "severity",
            "report_date",
            "onset_date",
            "under_control_when_found",
            "person__name",
            "cluster_event__code",
            "cluster_event__name",
            "jpath",
        )
    )
    ids = [c["id"] for c in cases]
    edges = _edges(set(ids))
    component = _components(ids, edges)
    generation = _generations(ids, edges)
    members = defaultdict(list)
    for case in cases:
        case["component"] = component[case["id"]]
        case["generation"] = generation[case["id"]]
        members[component[case["id"]]].append(case)
    settings_of = defaultdict(Counter)
    for a, _b, setting in edges:
        settings_of[component[a]][setting] += 1
    components = []
    for root, group in members.items():
        if len(group) < 2:
            continue
        events = sorted({c["cluster_event__name"] for c in group if c["cluster_event__name"]})
        components.append(
            {
                "id": root,
                "cases": len(group),
                "is_cluster": len(group) >= min_cases,
                "first_report": min(c["report_date"] for c in group),
                "last_report": max(c["report_date"] for c in group),
                "generations": max(c["generation"] for c in group),
                "index_case": group[0]["code"],
                "setting": settings_of[root].most_common(1)[0][0] if settings_of[root] else "",
                "events": events,
                "under_control": sum(1 for c in group if c["under_control_when_found"]),
            }
        )
    components.sort(key=lambda c: (-c["cases"], c["first_report"]))
    return {"cases": cases, "edges": edges, "components": components, "min_cases": min_cases}


def _linked_edges(cases: QuerySet) -> list[tuple[int, int, str]]:
    """The edges of `_edges` between cases of the queryset, found by the database through a
    subquery (no list of every case's id sent to it and back)."""
    ids = cases.order_by().values("id")
    edges = set(
        Exposure.objects.filter(case_id__in=ids, source_case_id__in=ids).values_list(
            "source_case_id", "case_id", "setting"
        )
    )
    edges.update(
        ContactLink.objects.filter(contact__case_id__in=ids, source_case_id__in=ids).values_list(
            "source_case_id", "contact__case_id", "setting"
        )
    )
    edges.update(
        ContactLink.objects.filter(
            contact__case_id__in=ids, source_contact__case_id__in=ids
        ).values_list("source_contact__case_id", "contact__case_id", "setting")
    )
    return [(a, b, s) for a, b, s in sorted(edges) if a != b]


def cluster_sizes(
    *, actor, filters: dict | None = None, min_cases: int = CLUSTER_MIN_CASES
) -> list[int]:
    """The sizes of the clusters (components of at least `min_cases` linked cases) that
    `transmission_graph` finds, from the linked cases only: a case with no link is a component
    of one, never a cluster, so the tens of thousands of unlinked cases are never read."""
    edges = _linked_edges(case_list(actor=actor, filters=filters))
    nodes = sorted({n for a, b, _s in edges for n in (a, b)})
    component = _components(nodes, edges)
    sizes = Counter(component.values())
    return sorted((n for n in sizes.values() if n >= max(min_cases, 2)), reverse=True)


def clusters(*, actor, min_cases: int = CLUSTER_MIN_CASES) -> list[dict]:
    return [
        c
        for c in transmission_graph(actor=actor, min_cases=min_cases)["components"]
        if c["is_cluster"]
    ]


def cluster_event_list(*, actor) -> QuerySet[ClusterEvent]:
    return scoped(ClusterEvent.objects.all(), actor, "jpath").annotate(
        n_cases=Count("cases", filter=scope_cases_q(actor))
    )


def scope_cases_q(actor) -> Q:
    prefix = actor_path(actor)
    if prefix is None:
        return Q(pk__in=[])
    return Q() if prefix == "/" else Q(cases__jpath__startswith=prefix)


def access_cluster_event(actor, pk) -> ClusterEvent:
    return access(ClusterEvent.objects.all(), actor, "jpath", pk=pk)


def key_figures(*, actor, filters: dict | None = None) -> dict:
    """Cases, the share found already under control (管控内发现), cases per cluster."""
    qs = case_list(actor=actor, filters=filters).exclude(classification=Classification.EXCLUDED)
    totals = qs.aggregate(
        cases=Count("id"),
        confirmed=Count("id", filter=Q(classification=Classification.CONFIRMED)),
        asymptomatic=Count("id", filter=Q(classification=Classification.ASYMPTOMATIC)),
        under_control=Count("id", filter=Q(under_control_when_found=True)),
    )
    sizes = cluster_sizes(actor=actor, filters=filters)
    totals["clusters"] = len(sizes)
    totals["cases_in_clusters"] = sum(sizes)
    totals["cases_per_cluster"] = (
        round(totals["cases_in_clusters"] / len(sizes), 1) if sizes else None
    )
    totals["under_control_share"] = (
        round(100 * totals["under_control"] / totals["cases"], 1) if totals["cases"] else None
    )
    return totals


def under_control_by_day(*, actor, filters: dict | None = None) -> list[dict]:
    """Per report date: new cases, and how many of them were already under control."""
    rows = (
        case_list(actor=actor, filters=filters)
        .exclude(classification=Classification.EXCLUDED)
        .values("report_date")
        .annotate(
            cases=Count("id"), under_control=Count("id", filter=Q(under_control_when_found=True))
        )
        .order_by("report_date")
    )
    return list(rows)


def colocation_run_list(*, actor) -> QuerySet[ColocationRun]:
    return scoped(ColocationRun.objects.select_related("case", "actor"), actor, "jpath")


def access_colocation_run(actor, pk) -> ColocationRun:
    return access(ColocationRun.objects.select_related("case"), actor, "jpath", pk=pk)


# --- the cases page's figures, kept for a short while per subtree ------------------------------

# How long the cases page's figures (key figures, the five-earlies intervals, leads and the curve)
# of one subtree and filter are reused: they read every case of the subtree, the list beside
# them only a page. The page says when they were computed; "refresh" recomputes them.
FIGURES_SECONDS = 60
_FIGURES_WAIT_SECONDS = 20


def _figures_key(prefix: str, filters: dict) -> str:
    import hashlib

    from django.db import router

    alias = router.db_for_read(Case) or "default"  # a drill's sandbox has figures of its own
    raw = json.dumps([alias, prefix, sorted(filters.items())], default=str)
    return "tracing:case-figures:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def case_figures_compute(*, actor, filters: dict | None = None) -> dict:
    """Everything the cases page shows beside its list, computed now (no cache)."""
    from django.utils import timezone

    filters = filters or {}
    return {
        "figures": key_figures(actor=actor, filters=filters),
        "intervals": [
            {k: v for k, v in row.items() if k != "label"}
            for row in intervals_aggregate(actor=actor, filters=filters)
        ],
        "leads": lead_counts(actor=actor),
        "by_day": under_control_by_day(actor=actor, filters=filters),
        "computed_at": timezone.now(),
    }


def case_figures(*, actor, filters: dict | None = None, refresh: bool = False) -> dict:
    """The cases page's figures for the actor's subtree and filters, reused for FIGURES_SECONDS
    (in the shared cache, so every server process shares one computation), with the moment they
    were computed (`computed_at`) for the page to show. One computation at a time per subtree
    and filter: the others wait for its result rather than all scan the subtree at once."""
    from django.core.cache import caches

    filters = filters or {}
    prefix = actor_path(actor)
    bundle = None
    if prefix is not None:
        try:
            bundle = _kept_figures(
                caches["shared"], _figures_key(prefix, filters), refresh, actor, filters
            )
        except Exception:  # the shared store is down: compute, as without it
            log.warning("case figures: shared cache unavailable", exc_info=True)
    if bundle is None:
        bundle = case_figures_compute(actor=actor, filters=filters)
    labels = {key: label for key, label, *_rest in INTERVALS}
    return {
        **bundle,
        "intervals": [{**row, "label": labels[row["key"]]} for row in bundle["intervals"]],
        "fresh_for": FIGURES_SECONDS,
    }


def _kept_figures(cache, key: str, refresh: bool, actor, filters: dict) -> dict:
    import time

    bundle = None if refresh else cache.get(key)
    if bundle is not None:
        return bundle
    busy, mine = key + ":busy", False
    deadline = time.monotonic() + _FIGURES_WAIT_SECONDS
    while not refresh:
        if cache.add(busy, 1, _FIGURES_WAIT_SECONDS):
            mine = True
            break
        time.sleep(0.1)
        bundle = cache.get(key)
        if bundle is not None:
            return bundle
        if time.monotonic() > deadline:
            break
    try:
        bundle = case_figures_compute(actor=actor, filters=filters)
        cache.set(key, bundle, FIGURES_SECONDS)
    finally:
        if mine:
            cache.delete(busy)
    return bundle
