"""The jurisdiction guard: every scoped read and every authorised write passes through here.

A user sees the subtree of the one node they are bound to; a superuser without a node sees the
whole tree ('/'); anyone else without a node sees nothing. The guard is compiled once, here, both
to a queryset filter (scope_q) and to an SQL fragment for the raw statements (scope_sql), so the
two cannot drift. Scoping is a prefix match on a materialised path (fangkong.common.paths), which
is one index range scan on every database.
"""

from collections.abc import Callable

from django.db.models import Q, QuerySet

from fangkong.common import paths

from . import errors


def actor_path(actor) -> str | None:
    """The actor's subtree prefix; None means the actor may see nothing."""
    if actor is None:
        return None
    jurisdiction = getattr(actor, "jurisdiction", None)
    if jurisdiction is not None:
        return jurisdiction.path
    if getattr(actor, "is_superuser", False):
        return paths.ROOT
    return None


def operator_or_actor_path(actor) -> str | None:
    """Like actor_path, but actor None is the operator at the command line: the whole tree."""
    return paths.ROOT if actor is None else actor_path(actor)


def scope_q(actor, field: str = "jpath") -> Q:
    prefix = actor_path(actor)
    if prefix is None:
        return Q(pk__in=[])
    if prefix == paths.ROOT:
        return Q()
    return Q(**{f"{field}__startswith": prefix})


def scoped(queryset: QuerySet, actor, field: str = "jpath") -> QuerySet:
    return queryset.filter(scope_q(actor, field))


def fetch(queryset: QuerySet, *conditions: Q, **lookup):
    """The one object of an already scoped queryset, else NotFound.

    A key that is not a valid key ('abc', 2**70) names nothing either: not found, whatever its
    shape, so a caller never sees the database's ValueError or OverflowError."""
    try:
        return queryset.get(*conditions, **lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise errors.NotFound() from exc


def access(queryset: QuerySet, actor, field: str = "jpath", **lookup):
    """Fetch one object through the guard; outside the actor's subtree it does not exist (404)."""
    return fetch(scoped(queryset, actor, field), **lookup)


def path_within(actor, path: str) -> bool:
    return paths.within(path, actor_path(actor))


def require(actor, rule: Callable[[object], bool]) -> None:
    """The role half of the guard, called by the service that does the work, so the page, the API,
    the command line and the jobs meet the same rule (`rule`, one of the apps' roles.can_*).
    Actor None is the operator or the system (command line, jobs, event handlers), which the
    role rules do not bind."""
    if actor is not None and not rule(actor):
        raise errors.Forbidden()


def scope_sql(actor, column: str) -> tuple[str, list]:
    """scope_q for a raw statement: a WHERE fragment on `column` and its parameters."""
    prefix = actor_path(actor)
    if prefix is None:
        return "1 = 0", []
    if prefix == paths.ROOT:
        return "1 = 1", []
    return f"substr({column}, 1, %s) = %s", [len(prefix), prefix]


def overlap_sql(actor, column: str) -> tuple[str, list]:
    """A fragment true where the node at `column` lies inside the actor's subtree or above it
    (paths.overlaps), for the rounds a grid worker works in."""
    prefix = actor_path(actor)
    if prefix is None:
        return "1 = 0", []
    if prefix == paths.ROOT:
        return "1 = 1", []
    return (
        f"(substr({column}, 1, %s) = %s OR substr(%s, 1, length({column})) = {column})",
        [len(prefix), prefix, prefix],
    )
