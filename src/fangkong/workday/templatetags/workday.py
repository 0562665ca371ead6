"""Template helpers of the shared pager: the current query with another page number."""

from django import template

register = template.Library()


@register.simple_tag
def page_query(request, number, name="page") -> str:
    """The request's query string with ``name`` set to ``number`` (filters kept)."""
    query = request.GET.copy()
    query[name] = number
    return query.urlencode()
