"""The tracing app's REST routes, for the project router."""

from .api import ActivityViewSet, CaseViewSet, ClusterViewSet, ContactViewSet

ROUTES = [
    ("tracing/cases", CaseViewSet, "tracing-case"),
    ("tracing/activities", ActivityViewSet, "tracing-activity"),
    ("tracing/contacts", ContactViewSet, "tracing-contact"),
    ("tracing/clusters", ClusterViewSet, "tracing-cluster"),
]
