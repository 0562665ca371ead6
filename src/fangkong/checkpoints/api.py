"""REST endpoints of the checkpoints module: checkpoints, arrivals, closed-loop transfers."""

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from fangkong.common import errors
from fangkong.common.masking import mask_id_number, mask_phone
from fangkong.control.models import ControlOrder, Site
from fangkong.geo.models import Jurisdiction
from fangkong.people.models import DocumentType

from . import selectors, services
from .models import Arrival, Checkpoint, HealthCode, Passenger, Transfer


class CheckpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Checkpoint
        fields = ["id", "code", "name", "kind", "address", "active"]


class CheckpointViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CheckpointSerializer
    queryset = Checkpoint.objects.none()

    def get_queryset(self):
        return selectors.checkpoint_list(actor=self.request.user).order_by("code")

    def get_object(self):
        return selectors.access_checkpoint(self.request.user, self.kwargs["pk"])


class ArrivalSerializer(serializers.ModelSerializer):
    checkpoint_code = serializers.CharField(source="checkpoint.code")
    document_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    risk_area = serializers.StringRelatedField()
    order_measure = serializers.CharField(source="order.measure", default=None)

    class Meta:
        model = Arrival
        fields = [
            "id",
            "checkpoint",
            "checkpoint_code",
            "person",
            "document_type",
            "document_number",
            "name",
            "phone",
            "origin",
            "abroad",
            "risk_area",
            "risk_level",
            "temperature",
            "health_code",
            "destination",
            "disposition",
            "reasons",
            "order",
            "order_measure",
            "registered_at",
        ]

    def get_document_number(self, obj) -> str:
        return mask_id_number(obj.document_number)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)


class RegisterSerializer(serializers.Serializer):
    checkpoint = serializers.IntegerField()
    document_type = serializers.ChoiceField(choices=DocumentType.choices, default="resident_id")
    document_number = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=60, required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    origin = serializers.CharField(max_length=200)
    abroad = serializers.BooleanField(required=False, default=False)
    temperature = serializers.DecimalField(max_digits=3, decimal_places=1)
    health_code = serializers.ChoiceField(choices=HealthCode.choices)
    destination = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    destination_grid = serializers.CharField(
        max_length=40, required=False, default="", allow_blank=True
    )
    sex = serializers.ChoiceField(choices=[("M", "M"), ("F", "F")], required=False, default="")
    birth_date = serializers.DateField(required=False, default=None, allow_null=True)


def grid_by_code(code: str):
    if not code:
        return None
    grid = Jurisdiction.objects.filter(code=code.strip(), level="grid").first()
    if grid is None:
        raise services.CheckpointError("unknown grid")
    return grid


class ArrivalViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ArrivalSerializer
    queryset = Arrival.objects.none()

    def get_queryset(self):
        return selectors.arrival_list(actor=self.request.user).order_by("-registered_at", "-id")

    def get_object(self):
        return selectors.access_arrival(self.request.user, self.kwargs["pk"])

    @extend_schema(request=RegisterSerializer, responses={201: ArrivalSerializer})
    def create(self, request):
        """Register an arrival: the rules decide the disposition and open its control order."""
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        checkpoint = selectors.access_checkpoint(request.user, values.pop("checkpoint"))
        values["destination_grid"] = grid_by_code(values["destination_grid"])
        arrival = services.arrival_register(actor=request.user, checkpoint=checkpoint, **values)
        return Response(ArrivalSerializer(arrival).data, status=201)


class PassengerSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="order.person.name")
    room = serializers.CharField(source="order.room.number", default=None)

    class Meta:
        model = Passenger
        fields = ["id", "order", "name", "room", "checked_in_at"]


@extend_schema_field({"type": "string", "pattern": "^(" + "|".join(Transfer.State.values) + ")$"})
class TransferStateField(serializers.CharField):
    """A transfer's state, a pattern in the schema: spectacular names every enum after its field,
    and one more "state" enum would collide with the other modules' ones."""


class TransferSerializer(serializers.ModelSerializer):
    passengers = PassengerSerializer(many=True, read_only=True)
    state = TransferStateField(read_only=True)
    site_code = serializers.CharField(source="site.code")

    class Meta:
        model = Transfer
        fields = [
            "id",
            "checkpoint",
            "pickup",
            "site",
            "site_code",
            "vehicle",
            "driver",
            "state",
            "created_at",
            "dispatched_at",
            "picked_up_at",
            "arrived_at",
            "passengers",
        ]


class TransferCreateSerializer(serializers.Serializer):
    checkpoint = serializers.IntegerField()
    site = serializers.IntegerField()
    vehicle = serializers.CharField(max_length=20)
    driver = serializers.CharField(max_length=60)
    driver_phone = serializers.CharField(
        max_length=20, required=False, default="", allow_blank=True
    )
    pickup = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    orders = serializers.ListField(child=serializers.IntegerField(), min_length=1)


class CheckInSerializer(serializers.Serializer):
    passenger = serializers.IntegerField()


class TransferViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TransferSerializer
    queryset = Transfer.objects.none()

    def get_queryset(self):
        return (
            selectors.transfer_list(actor=self.request.user)
            .prefetch_related(
                Prefetch(
                    "passengers",
                    queryset=Passenger.objects.select_related("order__person", "order__room"),
                )
            )
            .order_by("-created_at", "-id")
        )

    def get_object(self):
        return selectors.access_transfer(self.request.user, self.kwargs["pk"])

    @extend_schema(request=TransferCreateSerializer, responses={201: TransferSerializer})
    def create(self, request):
        """A vehicle for people under centralized isolation; rooms at the drop-off site."""
        data = TransferCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        checkpoint = selectors.access_checkpoint(request.user, v["checkpoint"])
        site = selectors.drop_off_sites(actor=request.user).filter(pk=v["site"]).first()
        if site is None:
            raise errors.NotFound("unknown site")
        # Only people registered at the caller's checkpoints may be put on board.
        order_ids = set(
            selectors.arrival_list(actor=request.user)
            .filter(order_id__in=v["orders"])
            .values_list("order_id", flat=True)
        )
        if order_ids != set(v["orders"]):
            raise errors.NotFound("unknown order")
        transfer = services.transfer_create(
            actor=request.user,
            checkpoint=checkpoint,
            site=Site.objects.get(pk=site.pk),
            vehicle=v["vehicle"],
            driver=v["driver"],
            driver_phone=v["driver_phone"],
            pickup=v["pickup"],
            orders=list(
                ControlOrder.objects.filter(pk__in=order_ids).select_related("person", "room")
            ),
        )
        return Response(TransferSerializer(self.get_object_by(transfer.pk)).data, status=201)

    def get_object_by(self, pk):
        return selectors.access_transfer(self.request.user, pk)

    @extend_schema(request=None, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        """Dispatched → picked up → arrived."""
        transfer = self.get_object()
        transfer = services.transfer_advance(actor=request.user, transfer=transfer)
        return Response(TransferSerializer(self.get_object_by(transfer.pk)).data)

    @extend_schema(request=CheckInSerializer, responses=TransferSerializer)
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        """A passenger's arrival check-in into their room at the site."""
        transfer = self.get_object()
        data = CheckInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        passenger = transfer.passengers.filter(pk=data.validated_data["passenger"]).first()
        if passenger is None:
            raise Http404
        services.passenger_check_in(actor=request.user, passenger=passenger)
        return Response(TransferSerializer(self.get_object_by(transfer.pk)).data)
