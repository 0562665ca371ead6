"""Reads of the jurisdiction tree, always within the actor's subtree."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from fangkong.common import paths
from fangkong.common.scope import access, operator_or_actor_path, scoped
from fangkong.people.models import Person

from .models import LEVEL_ORDER, Jurisdiction, Level


def jurisdiction_list(*, actor, filters: dict | None = None) -> QuerySet[Jurisdiction]:
    filters = filters or {}
    qs = scoped(Jurisdiction.objects.all(), actor, "path")
    if filters.get("level"):
        qs = qs.filter(level=filters["level"])
    if filters.get("parent"):
        qs = qs.filter(parent__code=filters["parent"])
    if filters.get("q"):
        q = filters["q"].strip()
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q) | Q(name_en__icontains=q))
    return qs


def access_jurisdiction(actor, code: str) -> Jurisdiction:
    return access(Jurisdiction.objects.select_related("parent"), actor, "path", code=code)


def actor_node(actor) -> Jurisdiction | None:
    """The node the actor is bound to; the top of the tree for a superuser without one and for
    the operator (actor None); None for anyone else, who sees nothing (common.scope)."""
    if getattr(actor, "jurisdiction_id", None):
        return actor.jurisdiction
    if operator_or_actor_path(actor) == paths.ROOT:
        return Jurisdiction.objects.filter(depth=0).order_by("path").first()
    return None


def breadcrumbs(*, actor, node: Jurisdiction) -> list[Jurisdiction]:
    """Ancestors of the node the actor may open, from the actor's own node down."""
    codes = paths.codes(node.path)
    ancestors = {
        j.code: j for j in scoped(Jurisdiction.objects.filter(code__in=codes), actor, "path")
    }
    return [ancestors[code] for code in codes if code in ancestors]


@dataclass
class NodeCount:
    node: Jurisdiction
    people: int


def children_with_counts(*, actor, node: Jurisdiction) -> list[NodeCount]:
    """The node's children with the number of registered people under each.

    Two queries whatever the size: people grouped by grid over the node's subtree, and the grids'
    paths; each grid's count is then added to the child whose path it starts with.
    """
    access_jurisdiction(actor, node.code)
    children = list(node.children.order_by("code"))
    if not children:
        return []
    per_grid = dict(
        Person.objects.filter(jpath__startswith=node.path)
        .values_list("grid_id")
        .annotate(n=Count("id"))
        .values_list("grid_id", "n")
    )
    totals = {child.path: 0 for child in children}
    if per_grid:
        grid_paths = Jurisdiction.objects.filter(
            path__startswith=node.path, level=Level.GRID
        ).values_list("id", "path")
        child_len = {len(child.path) for child in children}
        for grid_id, path in grid_paths:
            count = per_grid.get(grid_id)
            if not count:
                continue
            for length in child_len:
                if path[:length] in totals:
                    totals[path[:length]] += count
                    break
    return [NodeCount(child, totals[child.path]) for child in children]


def subtree_people_count(*, actor, node: Jurisdiction) -> int:
    access_jurisdiction(actor, node.code)
    return Person.objects.filter(jpath__startswith=node.path).count()


def subtree_level_counts(*, actor, node: Jurisdiction) -> list[tuple[str, int]]:
    """(level label, number of nodes) below the node, from the top level down."""
    rows = dict(
        scoped(Jurisdiction.objects.filter(path__startswith=node.path), actor, "path")
        .exclude(pk=node.pk)
        .values_list("level")
        .annotate(n=Count("id"))
    )
    return [(Level(level).label, rows[level]) for level in LEVEL_ORDER if level in rows]
