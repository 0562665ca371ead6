"""The OpenAPI schema as the API really answers: bare lists, null where null comes out, and the
error body of every refusal an operation can give.

drf-spectacular guesses three things from the view class that the views here do differently:
every many=True response of a paginated viewset is documented as a page, though only `list`
(and an action that calls `paginate_queryset`) pages; a ViewSet's `list` is taken for a list
though it may answer one object; and a field declared with a dotted source (`lab.code`) or on a
nullable relation is taken as never null, though DRF answers null as soon as a step is None.
"""

from __future__ import annotations

import typing

from django.db import models
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance, is_list_serializer
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import permissions, serializers
from rest_framework.mixins import ListModelMixin
from rest_framework.parsers import FileUploadParser, MultiPartParser
from rest_framework.settings import api_settings

UPLOAD_PARSERS = (MultiPartParser, FileUploadParser)


@extend_schema_serializer(many=False)  # one body even on a list endpoint
class ErrorSerializer(serializers.Serializer):
    """Every refusal: a stable code to compare, a message to show, and per-field messages for
    invalid input (a field's messages, or a nested object for nested input)."""

    code = serializers.CharField(help_text="stable: invalid, not_found, forbidden, conflict, …")
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.JSONField(), required=False)


ERROR_DESCRIPTIONS = {
    "400": "invalid input",
    "401": "not authenticated",
    "403": "not authenticated, or the role may not do this",
    "404": "not found, or outside the caller's jurisdiction",
    "409": "the object is in another state",
    "413": "the upload is too large",
    "429": "too many attempts",
}


def _pages(view) -> bool:
    """Whether the view's handler for this request answers a page rather than a bare list."""
    action = getattr(view, "action", None)
    if action is None:
        return True  # a generic ListAPIView: spectacular's own rule holds
    if action == "list":
        return isinstance(view, ListModelMixin) or _calls_paginate(getattr(view, "list", None))
    return _calls_paginate(getattr(view, action, None))


def _calls_paginate(handler) -> bool:
    code = getattr(getattr(handler, "__func__", handler), "__code__", None)
    return code is not None and "paginate_queryset" in code.co_names


def _method_may_be_null(field) -> bool:
    """A method field whose method says `-> X | None` (or is annotated with a nullable field)."""
    method = getattr(field.parent, field.method_name, None)
    annotated = getattr(method, "_spectacular_annotation", None)
    if isinstance(annotated, serializers.Field):
        return bool(annotated.allow_null)
    try:
        hint = typing.get_type_hints(method).get("return")
    except Exception:  # an annotation that does not resolve here: say nothing
        return False
    return type(None) in typing.get_args(hint)


def _nullable_source(field) -> bool:
    """A model-backed field whose source passes through a nullable model field (a nullable
    foreign key on the way to `lab.code`, or a nullable field itself) can answer null."""
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    attrs = getattr(field, "source_attrs", None)
    if model is None or not attrs or attrs == ["*"]:
        return False
    for attr in attrs:
        try:
            model_field = model._meta.get_field(attr)
        except Exception:  # a property or method: nothing known about it
            return False
        if model_field.one_to_many or model_field.many_to_many:
            return False  # a list, never null
        if getattr(model_field, "null", False) or isinstance(model_field, models.OneToOneRel):
            return True
        model = getattr(model_field, "related_model", None)
        if model is None:
            return False
    return False


class AutoSchema(SpectacularAutoSchema):
    def _get_paginator(self):
        return super()._get_paginator() if _pages(self.view) else None

    def _is_list_view(self, serializer=None) -> bool:
        if serializer is None:
            serializer = self.get_response_serializers()
        if isinstance(serializer, dict) and serializer:
            serializer = {str(code): s for code, s in serializer.items()}
            serializer = serializer[min(serializer)]
        if is_list_serializer(serializer):
            return True
        if getattr(self.view, "action", None) == "list" and not isinstance(
            self.view, ListModelMixin
        ):
            return False  # a ViewSet's own list() answers what it declares
        return super()._is_list_view(serializer)

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if isinstance(field, serializers.SerializerMethodField) and _method_may_be_null(field):
            meta["nullable"] = True
        if (
            direction == "response"
            and isinstance(field, serializers.Field)
            and not meta.get("nullable")
            and not field.write_only
            and (field.default is None or _nullable_source(field))
        ):
            meta["nullable"] = True
        return meta

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "response"
            and isinstance(field, serializers.FileField)
            and schema.get("format") == "uri"
        ):
            # Serialised without a request (the views here pass none), a file is its URL path;
            # no file is null.
            schema["format"] = "uri-reference"
            schema["nullable"] = True
        return schema

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self._error_codes(path, operation):
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code)
                body["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = body
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_codes(self, path: str, operation: dict) -> list[str]:
        """A generic rule: what the error contract can answer for an operation of this shape."""
        codes = []
        writes = self.method in ("POST", "PUT", "PATCH", "DELETE")
        if writes or operation.get("parameters") or "requestBody" in operation:
            codes.append("400")
        if not self._is_public():
            codes += ["401", "403"]
        if (
            "{" in path
            or operation.get("parameters")
            or "requestBody" in operation
            or (self.method == "GET" and self._get_paginator() is not None)
        ):
            # an object named in the path, a filter or the body that is missing or outside the
            # caller's subtree, or a page past the end
            codes.append("404")
        if writes and not self._is_public():
            codes.append("409")
        if writes and self._takes_file():
            codes.append("413")  # an upload: the import's size limit
        if self.view.get_throttles() if hasattr(self.view, "get_throttles") else False:
            codes.append("429")
        return codes

    def _takes_file(self) -> bool:
        parsers = self.view.get_parsers() if hasattr(self.view, "get_parsers") else []
        if parsers and all(isinstance(p, UPLOAD_PARSERS) for p in parsers):
            return True
        request = force_instance(self.get_request_serializer())
        if not isinstance(request, serializers.Serializer):
            return False
        return any(isinstance(f, serializers.FileField) for f in request.fields.values())

    def _is_public(self) -> bool:
        # The view's own answer for this method (the token endpoint: POST open, DELETE not).
        try:
            found = self.view.get_permissions()
        except Exception:  # a view whose get_permissions needs a real request
            classes = getattr(
                self.view, "permission_classes", api_settings.DEFAULT_PERMISSION_CLASSES
            )
            found = [c() for c in classes]
        return all(isinstance(p, permissions.AllowAny) for p in found)
