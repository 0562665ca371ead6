"""URL map: pages, the REST API under /api/v1/, and its OpenAPI schema."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from fangkong.accounts.permissions import SchemaAccess, schema_page

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("fangkong.api_urls")),
    path(
        "api/schema/", SpectacularAPIView.as_view(permission_classes=[SchemaAccess]), name="schema"
    ),
    path(
        "api/docs/",
        schema_page(
            SpectacularSwaggerSplitView.as_view(
                url_name="schema", permission_classes=[SchemaAccess]
            )
        ),
        name="api-docs",
    ),
    path("", include("fangkong.web_urls")),
]
