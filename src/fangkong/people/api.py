"""REST endpoints of the population registry: search, detail, audited reveal, import, export."""

import datetime as dt
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from fangkong.accounts.roles import can_import_people, can_see_pii
from fangkong.common import errors, jobs
from fangkong.common.api import ImportJobDetailSerializer, import_job_data
from fangkong.common.keyset import KeysetPagination
from fangkong.common.models import ImportJob
from fangkong.common.schema import ErrorSerializer
from fangkong.common.scope import require

from . import selectors, services
from .models import Person, Sex, Tag
from .privacy import birth_fields, masked, person_pii_reveal


class PersonSerializer(serializers.ModelSerializer):
    """ID number and phone always masked here; the reveal endpoint shows them in full."""

    document_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    birth_date = serializers.SerializerMethodField()
    age = serializers.SerializerMethodField()
    age_band = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = [
            "id",
            "name",
            "document_type",
            "document_number",
            "sex",
            "birth_date",
            "age",
            "age_band",
            "phone",
            "grid_code",
            "grid_name",
            "household",
            "address",
            "tags",
        ]

    def get_document_number(self, obj) -> str:
        return masked(obj)["document_number"]

    def get_phone(self, obj) -> str:
        return masked(obj)["phone"]

    def _birth(self, obj) -> dict:
        actor = self.context["request"].user if "request" in self.context else None
        return birth_fields(actor, obj, selectors.age(obj))

    @extend_schema_field(OpenApiTypes.DATE)
    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_birth_date(self, obj) -> dt.date | None:
        """Null for roles that may not see personal data (they get age_band)."""
        return self._birth(obj)["birth_date"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_age(self, obj) -> int | None:
        """Null for roles that may not see personal data (they get age_band)."""
        return self._birth(obj)["age"]

    def get_age_band(self, obj) -> str:
        return self._birth(obj)["age_band"]

    def get_tags(self, obj) -> list[str]:
        return [tag.name.lower() for tag in obj.tag_list]


class PersonFilterSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        help_text="name prefix; a full ID number or phone only for roles that may see personal "
        "data (the lookup is audited), 403 for the others",
    )
    jurisdiction = serializers.CharField(required=False, help_text="code of a node in your subtree")
    sex = serializers.ChoiceField(choices=Sex.choices, required=False)
    tag = serializers.ChoiceField(choices=Tag.choices, required=False)
    age_min = serializers.IntegerField(required=False, min_value=0, max_value=130)
    age_max = serializers.IntegerField(required=False, min_value=0, max_value=130)


class PiiSerializer(serializers.Serializer):
    document_number = serializers.CharField()
    phone = serializers.CharField()


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX with id_number,name,grid_code,…")


# A refused upload, or a file whose every row failed (the job with its rejected lines).
ImportRefusal = PolymorphicProxySerializer(
    component_name="ImportRefusal",
    serializers=[ErrorSerializer, ImportJobDetailSerializer],
    resource_type_field_name=None,
)


class PersonViewSet(viewsets.ReadOnlyModelViewSet):
    """People registered within the caller's subtree."""

    serializer_class = PersonSerializer
    queryset = Person.objects.none()
    pagination_class = KeysetPagination

    def get_queryset(self):
        filters = PersonFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.person_list(actor=self.request.user, filters=filters.validated_data)

    def get_object(self):
        return selectors.access_person(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[PersonFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=PiiSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """The full ID number and phone, for roles that may see them; written to the audit log."""
        person = self.get_object()
        return Response(person_pii_reveal(actor=request.user, person=person))

    @extend_schema(
        parameters=[OpenApiParameter("file_format", enum=["csv", "xlsx"], default="csv")],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): (
                OpenApiTypes.BINARY
            ),
        },
    )
    @action(detail=False, url_path="export")
    def export(self, request):
        """Everyone in the caller's subtree as CSV or XLSX; masked unless the role may see PII."""
        fmt = request.query_params.get("file_format", "csv")
        if fmt not in {"csv", "xlsx"}:
            raise errors.Invalid(fields={"file_format": ["csv or xlsx"]})
        return export_response(actor=request.user, fmt=fmt)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: ImportJobDetailSerializer,
            202: ImportJobDetailSerializer,
            400: ImportRefusal,
        },
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request):
        """Import a CSV or XLSX; every bad row comes back with its line, column and reason.

        With a job queue (Redis) the answer is 202 with the queued job: poll its `url`."""
        upload = UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        job = import_upload(actor=request.user, upload=upload.validated_data["file"])
        code = {
            ImportJob.Status.QUEUED: status.HTTP_202_ACCEPTED,
            ImportJob.Status.FAILED: status.HTTP_400_BAD_REQUEST,
        }.get(job.status, status.HTTP_201_CREATED)
        return Response(import_job_data(actor=request.user, job=job, request=request), status=code)


def import_upload(*, actor, upload) -> ImportJob:
    """Import an uploaded file now (no Redis: the finished job), or record and queue it for
    `fangkong worker` (the queued job). Files above FANGKONG_MAX_UPLOAD_MB are refused (413). The role is checked
    before queuing too, so a refused upload is a 403 now rather than a failed job later."""
    require(actor, can_import_people)
    return jobs.import_submit(
        actor=actor, upload=upload, kind="people", runner="fangkong.people.services.people_import"
    )


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_response(*, actor, fmt: str) -> HttpResponse:
    buffer = io.BytesIO() if fmt == "xlsx" else io.StringIO()
    services.people_export(actor=actor, out=buffer, fmt=fmt, unmasked=can_see_pii(actor))
    response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="people.{fmt}"'
    return response
