"""Query parameters read through a serializer, so a malformed filter is a 400, never a 500.

A view hands its filter serializer and the request here and passes the cleaned values on to the
selector; the exception handler answers the ValidationError as `{"code": "invalid", ...}`.
"""

from rest_framework import serializers

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def query(request, serializer_class: type[serializers.Serializer]) -> dict:
    """The filter values that were given, validated; absent and empty ones are left out."""
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return {k: v for k, v in params.validated_data.items() if v not in (None, "")}


class KeyField(serializers.IntegerField):
    """An id in a filter: a whole number the database's keys can hold."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("min_value", 1)
        super().__init__(**kwargs)


def bound_integer_fields() -> None:
    """Every DRF IntegerField takes only what a 64-bit column holds unless it sets its own bounds:
    a bigger number is no id or quantity the database can store, so it is refused as invalid
    input (400) before it reaches a query and the driver's OverflowError (500). Installed once,
    at start-up (common.apps), so no serializer can forget it."""
    init = serializers.IntegerField.__init__
    if getattr(init, "bounded", False):
        return

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", INT64_MAX)
        kwargs.setdefault("min_value", INT64_MIN)
        init(self, **kwargs)

    __init__.bounded = True
    serializers.IntegerField.__init__ = __init__
