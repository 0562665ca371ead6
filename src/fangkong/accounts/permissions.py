"""Who may read the API's schema and its docs page: anyone where settings.PUBLIC_SCHEMA (the
demo, development), otherwise logged-in users only (production)."""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from rest_framework.permissions import BasePermission


class SchemaAccess(BasePermission):
    def has_permission(self, request, view) -> bool:
        return settings.PUBLIC_SCHEMA or bool(request.user and request.user.is_authenticated)


def schema_page(view):
    """The docs page: a person without a session is sent to the login page, then back."""
    guarded = login_required(view)

    @wraps(view)
    def page(request, *args, **kwargs):
        return (view if settings.PUBLIC_SCHEMA else guarded)(request, *args, **kwargs)

    return page
