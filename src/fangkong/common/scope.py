"""The jurisdiction guard: every scoped read passes through here.

A user sees the subtree of the one node they are bound to. Scoping is a prefix match on a
materialised path ('/320000/320100/.../'), which is one index range scan on every database.
"""

from django.db.models import Q, QuerySet
from django.http import Http404


def actor_path(actor) -> str | None:
    """The actor's subtree prefix; None means the actor may see nothing."""
    if actor is None:
        return None
    jurisdiction = getattr(actor, "jurisdiction", None)
    if jurisdiction is not None:
        return jurisdiction.path
    if getattr(actor, "is_superuser", False):
        return "/"
    return None


def operator_or_actor_path(actor) -> str | None:
    """Like actor_path, but actor None is the operator at the command line: the whole tree."""
    return "/" if actor is None else actor_path(actor)


def scope_q(actor, field: str = "jpath") -> Q:
    prefix = actor_path(actor)
    if prefix is None:
        return Q(pk__in=[])
    if prefix == "/":
        return Q()
    return Q(**{f"{field}__startswith": prefix})


def scoped(queryset: QuerySet, actor, field: str = "jpath") -> QuerySet:
    return queryset.filter(scope_q(actor, field))


def access(queryset: QuerySet, actor, field: str = "jpath", **lookup):
    """Fetch one object through the guard; outside the actor's subtree it does not exist (404).

    A key that is not a valid key ('abc', 2**70) names nothing either: also 404, whatever its shape."""
    try:
        return scoped(queryset, actor, field).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


def path_within(actor, path: str) -> bool:
    prefix = actor_path(actor)
    return prefix is not None and path.startswith(prefix)


def path_prefix(path: str, depth: int) -> str:
    """The path of the ancestor `depth` levels below the root ('/p/c/d/s/' at 2 → '/p/c/'), so
    "the same city" or "the same district" is one prefix match."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:depth]) + "/"
