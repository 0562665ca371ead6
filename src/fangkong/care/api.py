"""REST endpoints of the care module: hospitals and their occupancy, admissions and their steps."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from fangkong.people.privacy import masked
from fangkong.tracing.models import Severity

from . import selectors, services
from .models import Admission, Bed, DischargeTest, Facility


class FacilitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Facility
        fields = ["id", "code", "name", "kind", "address", "active"]


@extend_schema_field({"type": "string", "pattern": "^(" + "|".join(Bed.State.values) + ")$"})
class BedStateField(serializers.ChoiceField):
    """A bed's state, a pattern in the schema: spectacular names every enum after its field,
    and one more "state" enum would collide with the other modules' ones."""

    def __init__(self, **kwargs):
        super().__init__(choices=Bed.State.choices, **kwargs)


class BedSerializer(serializers.ModelSerializer):
    unit = serializers.CharField(source="unit.label")
    state = BedStateField(read_only=True)

    class Meta:
        model = Bed
        fields = ["id", "number", "unit", "bed_type", "state"]


class CareFiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    vacant = serializers.IntegerField()
    occupied = serializers.IntegerField()
    cleaning = serializers.IntegerField()
    out_of_service = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class TypedFiguresSerializer(CareFiguresSerializer):
    icu = CareFiguresSerializer()
    general = CareFiguresSerializer()
    fangcang = CareFiguresSerializer()


class FacilityOccupancySerializer(TypedFiguresSerializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class OccupancySerializer(serializers.Serializer):
    facilities = FacilityOccupancySerializer(many=True)
    total = TypedFiguresSerializer()


def _flat(figures: dict) -> dict:
    return {
        **{k: v for k, v in figures.items() if k not in ("types", "facility")},
        **figures["types"],
    }


class BedStateSerializer(serializers.Serializer):
    state = BedStateField()


class FacilityViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = FacilitySerializer
    queryset = Facility.objects.none()

    def get_queryset(self):
        return selectors.facility_list(actor=self.request.user).order_by("code")

    def get_object(self):
        return selectors.access_facility(self.request.user, self.kwargs["pk"])

    @extend_schema(responses=OccupancySerializer)
    @action(detail=False)
    def occupancy(self, request):
        """Beds by type and state per hospital of the caller's subtree, and the sum."""
        data = selectors.bed_occupancy(actor=request.user)
        return Response(
            {
                "facilities": [
                    {
                        "id": r["facility"].pk,
                        "code": r["facility"].code,
                        "name": r["facility"].name,
                        **_flat(r),
                    }
                    for r in data["facilities"]
                ],
                "total": _flat(data["total"]),
            }
        )

    @extend_schema(responses=BedSerializer(many=True))
    @action(detail=True)
    def beds(self, request, pk=None):
        facility = self.get_object()
        beds = facility.beds.select_related("unit").order_by(
            "unit__bed_type", "unit__number", "number"
        )
        return Response(BedSerializer(beds, many=True).data)

    @extend_schema(request=BedStateSerializer, responses=BedSerializer)
    @action(detail=True, methods=["post"], url_path=r"beds/(?P<bed_id>\d+)/state")
    def bed_state(self, request, pk=None, bed_id=None):
        """Cleaning done, or a bed taken out of or back into service."""
        facility = self.get_object()
        bed = selectors.access_bed(request.user, bed_id)
        if bed.facility_id != facility.pk:
            raise PermissionDenied
        data = BedStateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bed = services.bed_state_set(
            actor=request.user, bed=bed, state=data.validated_data["state"]
        )
        return Response(BedSerializer(bed).data)


class DischargeTestSerializer(serializers.ModelSerializer):
    class Meta:
        model = DischargeTest
        fields = ["id", "sampled_at", "result", "ct"]


class AdmissionSerializer(serializers.ModelSerializer):
    case_code = serializers.CharField(source="case.code")
    person_name = serializers.CharField(source="person.name")
    document_number = serializers.SerializerMethodField()
    facility_code = serializers.CharField(source="facility.code")
    bed = serializers.CharField(source="bed.number")
    bed_type = serializers.CharField(source="bed.bed_type")

    class Meta:
        model = Admission
        fields = [
            "id",
            "case",
            "case_code",
            "person_name",
            "document_number",
            "facility",
            "facility_code",
            "bed",
            "bed_type",
            "status",
            "classification",
            "severity",
            "admitted_at",
            "ended_at",
            "previous",
            "released_order",
        ]

    def get_document_number(self, obj) -> str:
        return masked(obj.person)["document_number"]


class AdmitSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    facility = serializers.IntegerField(required=False)


class AdmissionSeveritySerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class TransferSerializer(serializers.Serializer):
    facility = serializers.IntegerField()


class AdmissionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AdmissionSerializer
    queryset = Admission.objects.none()

    def get_queryset(self):
        status = self.request.query_params.get("status", "admitted")
        return selectors.admission_list(actor=self.request.user, status=status or None).order_by(
            "id"
        )

    def get_object(self):
        return selectors.access_admission(self.request.user, self.kwargs["pk"])

    @extend_schema(request=AdmitSerializer, responses={201: AdmissionSerializer})
    def create(self, request):
        """Admit a case: a bed of the type its class and severity need, nearest first."""
        data = AdmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = selectors.access_case(request.user, data.validated_data["case"])
        facility = None
        if data.validated_data.get("facility"):
            facility = selectors.access_facility(request.user, data.validated_data["facility"])
        admission = services.admission_create(actor=request.user, case=case, facility=facility)
        return Response(AdmissionSerializer(admission).data, status=201)

    @extend_schema(request=AdmissionSeveritySerializer, responses=AdmissionSerializer)
    @action(detail=True, methods=["post"])
    def severity(self, request, pk=None):
        admission = self.get_object()
        data = AdmissionSeveritySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        admission = services.admission_severity_change(
            actor=request.user, admission=admission, **data.validated_data
        )
        return Response(AdmissionSerializer(admission).data)

    @extend_schema(request=DischargeTestSerializer, responses={201: DischargeTestSerializer})
    @action(detail=True, methods=["post"])
    def tests(self, request, pk=None):
        """Record a test towards discharge (result, and Ct if measured)."""
        admission = self.get_object()
        data = DischargeTestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        test = services.discharge_test_record(
            actor=request.user, admission=admission, **data.validated_data
        )
        return Response(DischargeTestSerializer(test).data, status=201)

    @extend_schema(request=TransferSerializer, responses=AdmissionSerializer)
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        admission = self.get_object()
        data = TransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        facility = selectors.access_facility(request.user, data.validated_data["facility"])
        new = services.admission_transfer(
            actor=request.user, admission=admission, facility=facility
        )
        return Response(AdmissionSerializer(new).data)

    @extend_schema(request=None, responses=AdmissionSerializer)
    @action(detail=True, methods=["post"])
    def discharge(self, request, pk=None):
        """Discharge (plan ed. 9 rule) and start post-discharge health monitoring."""
        admission = self.get_object()
        admission = services.admission_discharge(actor=request.user, admission=admission)
        return Response(AdmissionSerializer(admission).data)
