"""REST endpoints of import jobs and their rejected rows."""

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from .imports import rejected_rows_csv
from .models import ImportJob
from .selectors import access_import_job, import_job_list


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.CharField(allow_blank=True)
    value = serializers.CharField(allow_blank=True, allow_null=True)
    reason = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)
    errors = RowErrorSerializer(many=True, read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "filename",
            "actor",
            "status",
            "started_at",
            "finished_at",
            "total_rows",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "errors",
            "message",
        ]


class ImportJobViewSet(viewsets.ReadOnlyModelViewSet):
    """Import jobs run within the caller's subtree, with every rejected row."""

    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.none()

    def get_queryset(self):
        return import_job_list(actor=self.request.user)

    def get_object(self):
        try:
            return access_import_job(self.request.user, int(self.kwargs["pk"]))
        except ValueError:
            raise Http404 from None

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, url_path="rejected")
    def rejected(self, request, pk=None):
        """The rejected rows as they were in the file, with line and reason, to fix and re-upload."""
        return rejected_csv_response(self.get_object())


def rejected_csv_response(job: ImportJob) -> HttpResponse:
    response = HttpResponse(rejected_rows_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rejected-{job.pk}.csv"'
    return response
