"""Keyset (cursor) pagination for every long list, in the API and on the pages.

An OFFSET page makes the database walk every row before it, and a page number needs the exact
COUNT(*) of the whole subtree on every request: both grow with the city. A keyset page instead
asks for the rows after (or before) the last row the reader saw, in the list's own order, so the
deepest page costs what the first one does when an index holds that order; the total shown is the
planner's estimate (one EXPLAIN, no scan), or none where the database cannot estimate.

The order is the queryset's own `order_by` (or the model's Meta.ordering); it must end in the
primary key, which makes every row's key unique. A cursor is the order's values of the row to
continue from, with the direction, in URL-safe base64 JSON; a cursor that does not decode for
this list is a 400 `invalid_cursor`, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, Func, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan
from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from . import errors

PAGE_SIZE = 50
CURSOR_PARAM = "cursor"


class InvalidCursor(errors.Invalid):
    code = "invalid_cursor"
    default_message = _(
        "This page link is not valid for this list; start again from the first page."
    )


class ByteOrder(Func):
    """A text column compared byte by byte (COLLATE "C"), whatever the database's collation.

    A jurisdiction path's subtree is then one contiguous range of an index on the same
    expression, in the same order the list is sorted by, so a district's page is one range scan
    of the index instead of a walk through the whole city. Byte order is also code point order
    for UTF-8, so names sort as they did."""

    template = '%(expressions)s COLLATE "C"'

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="%(expressions)s COLLATE BINARY", **extra)


def subtree_range(prefix: str | None, field: str = "jpath") -> Q:
    """The subtree `prefix` as a byte-order range on `field`: the same rows as the prefix match
    of the scope (which stays), said so that an index on ByteOrder(field) can range-scan it."""
    if not prefix or prefix == "/":
        return Q()
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    column = ByteOrder(F(field))
    return Q(GreaterThanOrEqual(column, prefix)) & Q(LessThan(column, upper))


@dataclass(frozen=True)
class Key:
    name: str
    descending: bool
    byte_order: bool = False

    @property
    def expression(self):
        return ByteOrder(F(self.name)) if self.byte_order else F(self.name)

    def order(self, reverse: bool = False):
        descending = self.descending != reverse
        return self.expression.desc() if descending else self.expression.asc()


@dataclass
class KeysetPage:
    """One page: its rows, the cursors of the pages on either side, and an estimated total."""

    rows: list
    next_cursor: str | None = None
    previous_cursor: str | None = None
    estimated_count: int | None = None
    keys: list[Key] = field(default_factory=list)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def order_keys(queryset: QuerySet) -> list[Key]:
    ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
    keys = []
    for item in ordering:
        if isinstance(item, OrderBy) and isinstance(item.expression, ByteOrder):
            (inner,) = item.expression.get_source_expressions()
            keys.append(Key(inner.name, item.descending, byte_order=True))
            continue
        if not isinstance(item, str) or "__" in item or item.startswith("?"):
            raise ValueError(f"keyset order needs field names or ByteOrder, got {item!r}")
        descending = item.startswith("-")
        name = item.lstrip("-")
        keys.append(Key("id" if name == "pk" else name, descending))
    pk = queryset.model._meta.pk.attname
    if not keys or keys[-1].name not in (pk, "id"):
        raise ValueError("a keyset order must end in the primary key (rows need a unique key)")
    return keys


def _encode_value(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _decode_value(queryset: QuerySet, key: Key, value):
    """The cursor's JSON value as the field's Python value (a date stays a date)."""
    try:
        model_field = queryset.model._meta.get_field(key.name)
    except Exception:  # an annotation (tasks' `overdue`): JSON's int/str is already right
        return value
    if value is None:
        raise InvalidCursor()
    try:
        return model_field.to_python(value)
    except Exception as exc:  # ValidationError of a tampered value
        raise InvalidCursor() from exc


def encode_cursor(keys: Sequence[Key], row, *, backwards: bool) -> str:
    values = [_encode_value(getattr(row, key.name)) for key in keys]
    raw = json.dumps({"b": int(backwards), "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(queryset: QuerySet, keys: Sequence[Key], token: str) -> tuple[bool, list]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        backwards, values = bool(data["b"]), list(data["v"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidCursor() from exc
    if len(values) != len(keys):
        raise InvalidCursor()
    return backwards, [_decode_value(queryset, k, v) for k, v in zip(keys, values, strict=True)]


def _after(keys: Sequence[Key], values: list, *, backwards: bool) -> Q:
    """Rows strictly after `values` in the order (before them when going backwards)."""
    directions = {k.descending != backwards for k in keys}
    if len(directions) == 1:
        # One direction throughout: a row comparison, which an index on the same columns answers
        # with one range scan.
        lookup = TupleLessThan if directions.pop() else TupleGreaterThan
        return Q(lookup(Tuple(*[k.expression for k in keys]), values))
    # Mixed directions (a flag first, then a date): the expanded form.
    condition = Q(pk__in=[])
    for i, key in enumerate(keys):
        op = LessThan if key.descending != backwards else GreaterThan
        step = Q(op(key.expression, values[i]))
        for earlier, value in zip(keys[:i], values[:i], strict=False):
            step &= Q(Exact(earlier.expression, value))
        condition |= step
    return condition


def estimate_count(queryset: QuerySet) -> int | None:
    """The planner's row estimate of the whole filtered list: one EXPLAIN, nothing scanned.

    None where the database gives no estimate (SQLite): the pages then show no total rather
    than pay a COUNT over the subtree."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (an empty id list, .none())
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def keyset_page(
    queryset: QuerySet, cursor: str | None, *, size: int = PAGE_SIZE, estimate: bool = True
) -> KeysetPage:
    """One page of `queryset` after (or before) `cursor`: one SELECT of size + 1 rows (the extra
    row tells whether another page follows), plus the EXPLAIN of the estimate."""
    keys = order_keys(queryset)
    backwards = False
    rows_qs = queryset
    if cursor:
        backwards, values = decode_cursor(queryset, keys, cursor)
        rows_qs = queryset.filter(_after(keys, values, backwards=backwards))
    if backwards:
        rows_qs = rows_qs.order_by(*[k.order(reverse=True) for k in keys])
    rows = list(rows_qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    page = KeysetPage(rows=rows, keys=keys)
    if rows:
        # Going forwards there is a page behind whenever we came by a cursor; going backwards
        # there is one ahead (the page we came from).
        if (more and not backwards) or backwards:
            page.next_cursor = encode_cursor(keys, rows[-1], backwards=False)
        if (more and backwards) or (cursor and not backwards):
            page.previous_cursor = encode_cursor(keys, rows[0], backwards=True)
    if estimate:
        page.estimated_count = estimate_count(queryset)
    return page


def page_links(request, page: KeysetPage) -> dict:
    """The query strings of a page's neighbours for a template (filters kept, cursor replaced)."""
    query = request.GET.copy()
    query.pop(CURSOR_PARAM, None)
    query.pop("page", None)
    links = {"query": query.urlencode()}
    for name, cursor in (("next", page.next_cursor), ("previous", page.previous_cursor)):
        if cursor:
            q = query.copy()
            q[CURSOR_PARAM] = cursor
            links[name] = "?" + q.urlencode()
    return links


class KeysetPagination(BasePagination):
    """DRF pagination by cursor over the view's queryset order (see the module docstring)."""

    page_size = PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page = keyset_page(
            queryset, request.query_params.get(CURSOR_PARAM), size=self.page_size
        )
        return self.page.rows

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(remove_query_param(url, "page"), CURSOR_PARAM, cursor)

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page.next_cursor),
                "previous": self._link(self.page.previous_cursor),
                "estimated_count": self.page.estimated_count,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "estimated_count", "results"],
            "properties": {
                "next": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "the next page (a cursor link), null on the last page",
                },
                "previous": {
                    "type": "string",
                    "format": "uri",
                    "nullable": True,
                    "description": "the previous page, null on the first page",
                },
                "estimated_count": {
                    "type": "integer",
                    "nullable": True,
                    "description": "the planner's estimate of the rows of the whole list "
                    "(PostgreSQL); null where no estimate exists",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": CURSOR_PARAM,
                "required": False,
                "in": "query",
                "description": "the page to continue from: the cursor of a `next` or "
                "`previous` link",
                "schema": {"type": "string"},
            }
        ]
