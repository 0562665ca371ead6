"""REST endpoints of import jobs and their rejected rows, and of the alert centre."""

from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from . import paths
from .alerts import alert_acknowledge, alert_group_acknowledge, alert_groups, alert_list
from .imports import job_errors, job_rejected_csv
from .keyset import KeysetPagination
from .models import Alert, ImportJob
from .scope import access
from .selectors import access_import_job, import_job_list


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    column = serializers.CharField(allow_blank=True)
    value = serializers.CharField(allow_blank=True, allow_null=True)
    reason = serializers.CharField()


class ImportJobSerializer(serializers.ModelSerializer):
    """A job's counts and state, as listed: never its rows or errors (personal data, and a job
    of five million bad rows once made every list 184 MB)."""

    actor = serializers.CharField(source="actor.username", default=None, read_only=True)
    url = serializers.SerializerMethodField(help_text="where to poll a queued job")

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "url",
            "kind",
            "filename",
            "actor",
            "status",
            "mode",
            "started_at",
            "finished_at",
            "total_rows",
            "created",
            "updated",
            "unchanged",
            "rejected",
            "errors_truncated",
            "message",
            "attempts",
            "reason",
        ]

    def get_url(self, obj) -> str:
        path = reverse("import-job-detail", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ImportJobDetailSerializer(ImportJobSerializer):
    """One job with its stored errors (the first FANGKONG_IMPORT_MAX_STORED_ERRORS rejected
    lines), as the reader may see them: pass them in the context as `errors` (job_errors)."""

    errors = serializers.SerializerMethodField()

    class Meta(ImportJobSerializer.Meta):
        fields = [*ImportJobSerializer.Meta.fields, "errors"]

    @extend_schema_field(RowErrorSerializer(many=True))
    def get_errors(self, job) -> list[dict]:
        return self.context["errors"]


def import_job_data(*, actor, job: ImportJob, request=None) -> dict:
    """One job for `actor`: its errors masked by role, the view audited (imports.job_errors)."""
    context = {"errors": job_errors(actor=actor, job=job), "request": request}
    return ImportJobDetailSerializer(job, context=context).data


class ImportJobViewSet(viewsets.ReadOnlyModelViewSet):
    """Import jobs run within the caller's subtree; one job with its rejected rows."""

    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.none()

    def get_queryset(self):
        return import_job_list(actor=self.request.user)

    def get_object(self):
        try:
            return access_import_job(self.request.user, int(self.kwargs["pk"]))
        except ValueError:
            raise Http404 from None

    @extend_schema(responses=ImportJobDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        return Response(import_job_data(actor=request.user, job=self.get_object()))

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, url_path="rejected")
    def rejected(self, request, pk=None):
        """The rejected rows as they were in the file, with line and reason, to fix and re-upload."""
        return rejected_csv_response(actor=request.user, job_id=pk)


def rejected_csv_response(*, actor, job_id) -> HttpResponse:
    """The one download of a job's rejected rows (API and pages): scoped, masked, audited."""
    try:
        job = access_import_job(actor, int(job_id))
    except (TypeError, ValueError):
        raise Http404 from None
    response = HttpResponse(
        job_rejected_csv(actor=actor, job=job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="rejected-{job.pk}.csv"'
    return response


class AlertSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(read_only=True)
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.username", default=None, read_only=True
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "kind_label",
            "level",
            "title",
            "body",
            "jurisdiction_path",
            "object_type",
            "object_id",
            "created_at",
            "acknowledged_at",
            "acknowledged_by",
        ]


class AlertFilterSerializer(serializers.Serializer):
    open = serializers.BooleanField(required=False, help_text="only alerts not yet acknowledged")
    kind = serializers.CharField(required=False)


class AlertGroupSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(help_text="the kind in the reader's language")
    path = serializers.CharField(help_text="the node's jurisdiction path: acknowledge by it")
    node = serializers.CharField(help_text="the node's code")
    node_name = serializers.CharField()
    count = serializers.IntegerField(help_text="open alerts of this kind at this node")
    latest = serializers.DateTimeField(help_text="when the newest of them was raised")


class AlertGroupFilterSerializer(serializers.Serializer):
    kind = serializers.CharField(required=False)


class AlertGroupAcknowledgeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    path = serializers.CharField(help_text="the group's path, as the group list gives it")


class AlertGroupAcknowledgedSerializer(serializers.Serializer):
    kind = serializers.CharField()
    path = serializers.CharField()
    acknowledged = serializers.IntegerField(help_text="how many open alerts were acknowledged")


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """The one alert centre: every module's alerts within the caller's subtree."""

    serializer_class = AlertSerializer
    queryset = Alert.objects.none()
    pagination_class = KeysetPagination

    def get_queryset(self):
        filters = AlertFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return alert_list(
            actor=self.request.user, open_only=data.get("open", False), kind=data.get("kind")
        ).select_related("acknowledged_by")

    def get_object(self):
        try:
            pk = int(self.kwargs["pk"])
        except ValueError:
            raise Http404 from None
        return access(self.get_queryset(), self.request.user, "jurisdiction_path", pk=pk)

    @extend_schema(parameters=[AlertFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        try:
            alert_id = int(pk)
        except ValueError:
            raise Http404 from None
        alert = alert_acknowledge(actor=request.user, alert_id=alert_id)
        return Response(AlertSerializer(alert).data)

    @extend_schema(
        parameters=[AlertGroupFilterSerializer], responses=AlertGroupSerializer(many=True)
    )
    # Groups are few and ordered by size, not by an indexed key: numbered pages, not a cursor.
    @action(detail=False, methods=["get"], pagination_class=PageNumberPagination)
    def groups(self, request):
        """Open alerts of the caller's subtree grouped by kind and node, largest first (paged):
        one row with its count for the 300 missed health checks of one grid."""
        filters = AlertGroupFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = [
            {
                "kind": group["kind"],
                "label": str(group["label"]),
                "path": group["path"],
                "node": (paths.codes(group["path"]) or [""])[-1],
                "node_name": group["node"],
                "count": group["count"],
                "latest": group["latest"],
            }
            for group in alert_groups(actor=request.user, kind=filters.validated_data.get("kind"))
        ]
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(AlertGroupSerializer(page, many=True).data)

    @extend_schema(
        request=AlertGroupAcknowledgeSerializer, responses=AlertGroupAcknowledgedSerializer
    )
    @action(detail=False, methods=["post"], url_path="groups/acknowledge")
    def groups_acknowledge(self, request):
        """Acknowledge every open alert of one group at once (audited once); a group outside the
        caller's subtree, or with no open alert, is 404."""
        data = AlertGroupAcknowledgeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind, path = data.validated_data["kind"], data.validated_data["path"]
        n = alert_group_acknowledge(actor=request.user, kind=kind, jurisdiction_path=path)
        return Response({"kind": kind, "path": path, "acknowledged": n})
