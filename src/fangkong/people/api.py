"""REST endpoints of the population registry: search, detail, audited reveal, import, export."""

import io
import uuid
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied as DrfPermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from fangkong.accounts.roles import can_import_people, can_see_pii
from fangkong.common.api import ImportJobSerializer
from fangkong.common.jobs import enqueue
from fangkong.common.models import ImportJob
from fangkong.common.schema import ErrorSerializer

from . import selectors, services
from .models import Person, Sex, Tag
from .privacy import masked, person_pii_reveal


class PersonSerializer(serializers.ModelSerializer):
    """ID number and phone always masked here; the reveal endpoint shows them in full."""

    document_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    grid_name = serializers.CharField(source="grid.name", read_only=True)
    age = serializers.SerializerMethodField()
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

    def get_age(self, obj) -> int:
        return selectors.age(obj)

    def get_tags(self, obj) -> list[str]:
        return [tag.name.lower() for tag in obj.tag_list]


class PersonFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, help_text="name prefix, full ID number or phone")
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


class QueuedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued"])


# A refused upload, or a file whose every row failed (the job with its rejected lines).
ImportRefusal = PolymorphicProxySerializer(
    component_name="ImportRefusal",
    serializers=[ErrorSerializer, ImportJobSerializer],
    resource_type_field_name=None,
)


class PersonViewSet(viewsets.ReadOnlyModelViewSet):
    """People registered within the caller's subtree."""

    serializer_class = PersonSerializer
    queryset = Person.objects.none()

    def get_queryset(self):
        filters = PersonFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.person_list(actor=self.request.user, filters=filters.validated_data)

    def get_object(self):
        try:
            person_id = int(self.kwargs["pk"])
        except ValueError:
            raise Http404 from None
        return selectors.access_person(self.request.user, person_id)

    @extend_schema(parameters=[PersonFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=PiiSerializer)
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """The full ID number and phone, for roles that may see them; written to the audit log."""
        person = self.get_object()
        if not can_see_pii(request.user):
            raise DrfPermissionDenied("your role may not see personal data")
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
            return Response({"file_format": "csv or xlsx"}, status=status.HTTP_400_BAD_REQUEST)
        return export_response(actor=request.user, fmt=fmt)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: ImportJobSerializer, 202: QueuedSerializer, 400: ImportRefusal},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request):
        """Import a CSV or XLSX; every bad row comes back with its line, column and reason."""
        if not can_import_people(request.user):
            raise DrfPermissionDenied("your role may not import people")
        upload = UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        job = import_upload(actor=request.user, upload=upload.validated_data["file"])
        if job is None:
            return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
        code = status.HTTP_400_BAD_REQUEST if job.status == ImportJob.Status.FAILED else 201
        return Response(ImportJobSerializer(job, context={"request": request}).data, status=code)


def import_upload(*, actor, upload) -> ImportJob | None:
    """Import an uploaded file now, or, with Redis configured, queue it for `fangkong worker` and
    return None (the job appears in the list when the worker starts it)."""
    if not settings.REDIS_URL:
        return services.people_import(actor=actor, source=upload, filename=upload.name)
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{Path(upload.name).suffix.lower()}"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    enqueue(
        "fangkong.people.services.people_import_stored",
        actor_id=actor.pk,
        path=str(path),
        filename=upload.name,
    )
    return None


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
