"""Pages of the jurisdiction tree browser, and the overview a user lands on."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from . import selectors


@login_required
def home(request):
    """The overview a user lands on: their jurisdiction's people and the nodes below it."""
    node = selectors.actor_node(request.user)
    context = {"node": node}
    if node is not None:
        context.update(
            people=selectors.subtree_people_count(actor=request.user, node=node),
            levels=selectors.subtree_level_counts(actor=request.user, node=node),
            children=selectors.children_with_counts(actor=request.user, node=node),
        )
    return render(request, "geo/home.html", context)


@login_required
def tree(request):
    root = selectors.actor_node(request.user)
    if root is None:
        raise Http404
    return redirect("geo:node", code=root.code)


@login_required
def node(request, code: str):
    current = selectors.access_jurisdiction(request.user, code)
    context = {
        "node": current,
        "root": selectors.actor_node(request.user),
        "breadcrumbs": selectors.breadcrumbs(actor=request.user, node=current),
        "people": selectors.subtree_people_count(actor=request.user, node=current),
        "levels": selectors.subtree_level_counts(actor=request.user, node=current),
        "children": selectors.children_with_counts(actor=request.user, node=current),
    }
    if current.is_grid:
        context["buildings"] = current.buildings.order_by("code")[:200]
    return render(request, "geo/node.html", context)


@login_required
def children(request, code: str):
    """htmx partial: one level of the tree, expanded in place."""
    current = selectors.access_jurisdiction(request.user, code)
    rows = selectors.children_with_counts(actor=request.user, node=current)
    return render(request, "geo/_children.html", {"rows": rows})


@login_required
def autocomplete(request):
    """htmx partial: <option>s of nodes within the user's subtree matching the typed text."""
    field = request.GET.get("field") or ""
    typed = request.GET.get(field) if field else None
    typed = typed if typed is not None else request.GET.get("jurisdiction") or request.GET.get("q")
    typed = (typed or "").replace("，", ",")
    # A list field (a round's scope): search the last term, keep the ones before it.
    before, q = "", typed.strip()
    if request.GET.get("multi") and "," in typed:
        head, _sep, q = typed.rpartition(",")
        before, q = head.strip() + ",", q.strip()
    filters = {"q": q, "level": request.GET.get("level") or ""}
    nodes = selectors.jurisdiction_list(actor=request.user, filters=filters)[:20] if q else []
    return render(request, "geo/_options.html", {"nodes": nodes, "before": before})
