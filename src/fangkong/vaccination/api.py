"""REST endpoints of the vaccination module: products, sites, doses (and their import), coverage,
the grid workers' lists, adverse events and their follow-up. Thin: the rules are in services."""

from django.utils import timezone
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

from fangkong.common import jobs
from fangkong.common.api import ImportJobDetailSerializer, import_job_data
from fangkong.common.models import ImportJob
from fangkong.common.schema import ErrorSerializer
from fangkong.common.scope import require
from fangkong.people.models import Person

from . import roles, selectors, services
from .models import Aefi, AefiFollowUp, Dose, Product, Site

NODE = OpenApiParameter("node", OpenApiTypes.STR, description="a jurisdiction code in your subtree")
GRID = OpenApiParameter(
    "grid", OpenApiTypes.STR, description="a grid code in your subtree (default: your own grid)"
)


def _pattern(choices) -> dict:
    return {"type": "string", "pattern": "^(" + "|".join(v for v, _l in choices) + ")$"}


@extend_schema_field(_pattern(Aefi.Severity.choices))
class AefiSeverityField(serializers.ChoiceField):
    """A pattern in the schema, not an enum: other modules' "severity" enums would collide."""

    def __init__(self, **kwargs):
        super().__init__(choices=Aefi.Severity.choices, **kwargs)


@extend_schema_field(_pattern(Aefi.Status.choices))
class AefiStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Aefi.Status.choices, **kwargs)


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "manufacturer",
            "kind",
            "primary_doses",
            "interval_min_days",
            "interval_max_days",
            "booster_after_days",
            "second_booster_min_age",
            "second_booster_after_days",
        ]


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """Vaccine products and their schedules (data, not code)."""

    serializer_class = ProductSerializer
    queryset = Product.objects.none()

    def get_queryset(self):
        return selectors.product_list()

    def get_object(self):
        return selectors.access_product(self.kwargs["pk"])


class VaccinationSiteSerializer(serializers.ModelSerializer):
    # A code, resolved by the view through the scoped selector: a lookup over every node would
    # answer "no such node" for codes outside the caller's subtree and 404 for those inside.
    jurisdiction = serializers.CharField(
        source="jurisdiction.code", help_text="a jurisdiction code in your subtree"
    )

    class Meta:
        model = Site
        fields = ["id", "code", "name", "jurisdiction", "address", "daily_capacity", "active"]
        read_only_fields = ["active"]


class SiteViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = VaccinationSiteSerializer
    queryset = Site.objects.none()

    def get_queryset(self):
        return selectors.site_list(actor=self.request.user).select_related("jurisdiction")

    def get_object(self):
        return selectors.access_site(self.request.user, self.kwargs["pk"])

    @extend_schema(request=VaccinationSiteSerializer, responses={201: VaccinationSiteSerializer})
    def create(self, request):
        data = VaccinationSiteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        code = fields.pop("jurisdiction")["code"]
        node = selectors.access_node(request.user, code)
        site = services.site_create(actor=request.user, jurisdiction=node, **fields)
        return Response(VaccinationSiteSerializer(site).data, status=201)


class DoseSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name")
    document_number = serializers.SerializerMethodField()
    product_code = serializers.CharField(source="product.code")
    lot = serializers.CharField(source="lot.code")
    site_code = serializers.CharField(source="site.code")

    class Meta:
        model = Dose
        fields = [
            "id",
            "person",
            "person_name",
            "document_number",
            "product_code",
            "lot",
            "dose_number",
            "site_code",
            "given_at",
            "source",
        ]

    def get_document_number(self, obj) -> str:
        return selectors.person_row(self.context["actor"], obj.person)["document_number"]


class DoseRecordSerializer(serializers.Serializer):
    person = serializers.IntegerField(required=False, help_text="the person's id")
    id_number = serializers.CharField(required=False, max_length=32)
    product = serializers.IntegerField()
    lot = serializers.CharField(max_length=40)
    site = serializers.IntegerField()
    given_at = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if not attrs.get("person") and not attrs.get("id_number"):
            raise serializers.ValidationError({"person": ["give the person's id or ID number"]})
        return attrs


class DoseFilterSerializer(serializers.Serializer):
    person = serializers.IntegerField(required=False, min_value=1)


class DoseUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV: id_number,product_code,lot,dose_number,given_at,site_code"
    )


ImportRefusal = PolymorphicProxySerializer(
    component_name="VaccinationImportRefusal",
    serializers=[ErrorSerializer, ImportJobDetailSerializer],
    resource_type_field_name=None,
)


def import_upload(*, actor, upload) -> ImportJob:
    """Import now (no Redis) or queue for `fangkong worker`; the role is checked before either."""
    require(actor, roles.can_import_doses)
    return jobs.import_submit(
        actor=actor,
        upload=upload,
        kind="vaccination_doses",
        runner="fangkong.vaccination.uploads.doses_import",
    )


class DoseViewSet(viewsets.ReadOnlyModelViewSet):
    """Doses given to people of the caller's subtree; ID numbers masked unless the role may see them."""

    serializer_class = DoseSerializer
    queryset = Dose.objects.none()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "actor": self.request.user}

    def get_queryset(self):
        filters = DoseFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        person = filters.validated_data.get("person")
        person = selectors.access_person(self.request.user, person) if person else None
        return selectors.dose_list(actor=self.request.user, person=person).order_by("id")

    def get_object(self):
        return selectors.access_dose(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[DoseFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DoseRecordSerializer, responses={201: DoseSerializer})
    def create(self, request):
        """Record a person's next dose at a site (the dose number follows the doses on file)."""
        data = DoseRecordSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        require(request.user, roles.can_record_dose)
        person = (
            selectors.access_person(request.user, v["person"])
            if v.get("person")
            else selectors.person_by_number(request.user, v["id_number"])
        )
        dose = services.dose_record(
            actor=request.user,
            person=person,
            product=selectors.access_product(v["product"]),
            lot=v["lot"],
            site=selectors.access_site(request.user, v["site"]),
            given_at=v.get("given_at") or timezone.now(),
        )
        return Response(self.get_serializer(dose).data, status=201)

    @extend_schema(
        request={"multipart/form-data": DoseUploadSerializer},
        responses={
            201: ImportJobDetailSerializer,
            202: ImportJobDetailSerializer,
            400: ImportRefusal,
        },
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request):
        """Import the vaccination system's file; every bad row comes back with its line and
        reason, and importing the same file again changes nothing. With a job queue (Redis)
        the answer is 202 with the queued job: poll its `url`."""
        upload = DoseUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        job = import_upload(actor=request.user, upload=upload.validated_data["file"])
        code = {
            ImportJob.Status.QUEUED: status.HTTP_202_ACCEPTED,
            ImportJob.Status.FAILED: status.HTTP_400_BAD_REQUEST,
        }.get(job.status, status.HTTP_201_CREATED)
        return Response(import_job_data(actor=request.user, job=job, request=request), status=code)


class LevelsSerializer(serializers.Serializer):
    population = serializers.IntegerField()
    first = serializers.IntegerField()
    full = serializers.IntegerField()
    booster = serializers.IntegerField()
    booster2 = serializers.IntegerField()
    first_pct = serializers.FloatField(allow_null=True)
    full_pct = serializers.FloatField(allow_null=True)
    booster_pct = serializers.FloatField(allow_null=True)
    booster2_pct = serializers.FloatField(allow_null=True)


class BandSerializer(LevelsSerializer):
    band = serializers.IntegerField()
    label = serializers.CharField()


class ChildCoverageSerializer(LevelsSerializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()


class ElderlySerializer(serializers.Serializer):
    aged_60_plus = LevelsSerializer()
    aged_80_plus = LevelsSerializer()


class CoverageSerializer(serializers.Serializer):
    node = serializers.CharField(source="node.code")
    node_name = serializers.CharField(source="node.name")
    as_of = serializers.DateField(allow_null=True)
    registered = serializers.IntegerField()
    total = LevelsSerializer()
    bands = BandSerializer(many=True)
    elderly = ElderlySerializer()
    children = ChildCoverageSerializer(many=True)


class CoverageViewSet(viewsets.ViewSet):
    """Coverage of a node of the caller's subtree (default: the caller's own)."""

    @extend_schema(parameters=[NODE], responses=CoverageSerializer)
    def list(self, request):
        """First dose, full course, booster: for those aged 3 and over, by age band, the elderly
        (60+, 80+) apart, and per child node; from the counters, as of `as_of`."""
        node = selectors.node_for(request.user, request.query_params.get("node"))
        return Response(
            CoverageSerializer(selectors.coverage_of(actor=request.user, node=node)).data
        )


class ListPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    document_number = serializers.CharField()
    phone = serializers.CharField()
    age = serializers.IntegerField(allow_null=True)
    age_band = serializers.CharField()
    grid_code = serializers.CharField()
    address = serializers.CharField()


class OverdueSerializer(ListPersonSerializer):
    doses = serializers.IntegerField()
    product_code = serializers.CharField()
    last_at = serializers.DateTimeField()
    next_dose = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["primary", "booster", "second_booster"])
    due_from = serializers.DateField()
    overdue_after = serializers.DateField(allow_null=True)
    days_overdue = serializers.IntegerField()


class UnvaccinatedViewSet(viewsets.GenericViewSet):
    """People of a grid aged 3 and over with no dose, the oldest first (the grid worker's list)."""

    serializer_class = ListPersonSerializer
    queryset = Person.objects.none()

    @extend_schema(parameters=[GRID], responses=ListPersonSerializer(many=True))
    def list(self, request):
        grid = selectors.grid_for(request.user, request.query_params.get("grid"))
        page = self.paginate_queryset(selectors.unvaccinated_list(actor=request.user, grid=grid))
        rows = [selectors.person_row(request.user, p) for p in page]
        selectors.audit_list_view(
            actor=request.user, grid=grid, kind="unvaccinated", person_ids=[r["id"] for r in rows]
        )
        return self.get_paginated_response(rows)


class OverdueViewSet(viewsets.GenericViewSet):
    """People of a grid overdue for their next dose, the elderly first."""

    serializer_class = OverdueSerializer
    queryset = Person.objects.none()

    @extend_schema(parameters=[GRID], responses=OverdueSerializer(many=True))
    def list(self, request):
        grid = selectors.grid_for(request.user, request.query_params.get("grid"))
        page = self.paginate_queryset(selectors.overdue_list(actor=request.user, grid=grid))
        rows = [
            {
                **selectors.person_row(request.user, r["person"]),
                **{k: v for k, v in r.items() if k not in ("person", "product", "age")},
                "product_code": r["product"].code,
            }
            for r in page
        ]
        selectors.audit_list_view(
            actor=request.user, grid=grid, kind="overdue", person_ids=[r["id"] for r in rows]
        )
        return self.get_paginated_response(OverdueSerializer(rows, many=True).data)


class FollowUpSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="by.username", default=None)
    status = AefiStatusField()

    class Meta:
        model = AefiFollowUp
        fields = ["at", "status", "note", "by"]


class AefiSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name")
    document_number = serializers.SerializerMethodField()
    product_code = serializers.CharField(source="dose.product.code")
    lot = serializers.CharField(source="dose.lot.code")
    dose_number = serializers.IntegerField(source="dose.dose_number")
    follow_ups = FollowUpSerializer(many=True, read_only=True)
    severity = AefiSeverityField()
    status = AefiStatusField()

    class Meta:
        model = Aefi
        fields = [
            "id",
            "person",
            "person_name",
            "document_number",
            "dose",
            "dose_number",
            "product_code",
            "lot",
            "onset_at",
            "symptoms",
            "severity",
            "status",
            "reported_at",
            "follow_ups",
        ]

    def get_document_number(self, obj) -> str:
        return selectors.person_row(self.context["actor"], obj.person)["document_number"]


class AefiReportSerializer(serializers.Serializer):
    dose = serializers.IntegerField()
    onset_at = serializers.DateTimeField()
    symptoms = serializers.CharField(max_length=500)
    severity = AefiSeverityField()


class AefiFollowUpSerializer(serializers.Serializer):
    status = AefiStatusField()
    note = serializers.CharField(max_length=500)


class AefiViewSet(viewsets.ReadOnlyModelViewSet):
    """Adverse events following immunization in the caller's subtree, with their follow-up."""

    serializer_class = AefiSerializer
    queryset = Aefi.objects.none()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "actor": self.request.user}

    def get_queryset(self):
        require(self.request.user, roles.can_read_aefi)
        return (
            selectors.aefi_list(actor=self.request.user)
            .prefetch_related("follow_ups__by")
            .order_by("-id")
        )

    def get_object(self):
        require(self.request.user, roles.can_read_aefi)
        return selectors.access_aefi(self.request.user, self.kwargs["pk"])

    @extend_schema(request=AefiReportSerializer, responses={201: AefiSerializer})
    def create(self, request):
        data = AefiReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        require(request.user, roles.can_report_aefi)
        v = data.validated_data
        aefi = services.aefi_report(
            actor=request.user,
            dose=selectors.access_dose(request.user, v["dose"]),
            onset_at=v["onset_at"],
            symptoms=v["symptoms"],
            severity=v["severity"],
        )
        return Response(self.get_serializer(aefi).data, status=201)

    @extend_schema(request=AefiFollowUpSerializer, responses=AefiSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request, pk=None):
        aefi = self.get_object()
        data = AefiFollowUpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.aefi_follow_up(actor=request.user, aefi=aefi, **data.validated_data)
        return Response(self.get_serializer(selectors.access_aefi(request.user, aefi.pk)).data)
