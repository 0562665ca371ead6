"""REST endpoints of supplies: catalogue, warehouses, ledger, cover, enterprises, requests."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from fangkong.common.scope import path_within
from fangkong.geo.models import Jurisdiction

from . import selectors, services
from .models import Enterprise, Item, Movement, OutputReport, SupplyRequest, Warehouse


def _warehouse_named(data: dict, field: str) -> Warehouse | None:
    """The warehouse a body names by code in `field` (None if it names none). It may lie outside
    the caller's subtree (stock sent to another district, a delivery point), so it is looked up
    by code, not through the guard; the service decides what may be done with it."""
    if not data.get(field):
        return None
    found = Warehouse.objects.filter(code=data[field]).first()
    if found is None:
        raise serializers.ValidationError({field: ["unknown warehouse"]})
    return found


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "code", "name", "name_en", "category", "grade", "unit"]


class ItemViewSet(viewsets.ReadOnlyModelViewSet):
    """The supply catalogue (the same for every node)."""

    serializer_class = ItemSerializer
    queryset = Item.objects.none()
    lookup_field = "code"

    def get_queryset(self):
        return selectors.item_list()


class WarehouseSerializer(serializers.ModelSerializer):
    jurisdiction = serializers.CharField(source="jurisdiction.code", read_only=True)

    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "kind", "address", "jurisdiction"]


class BalanceRowSerializer(serializers.Serializer):
    item = serializers.CharField(source="item.code")
    name = serializers.CharField(source="item.name")
    unit = serializers.CharField(source="item.unit")
    quantity = serializers.IntegerField()


class WarehouseViewSet(viewsets.ReadOnlyModelViewSet):
    """Warehouses within the caller's subtree, and the stock of one."""

    serializer_class = WarehouseSerializer
    queryset = Warehouse.objects.none()
    lookup_field = "code"

    def get_queryset(self):
        return selectors.warehouse_list(actor=self.request.user)

    def get_object(self):
        return selectors.access_warehouse(self.request.user, self.kwargs["code"])

    @extend_schema(responses=BalanceRowSerializer(many=True))
    @action(detail=True)
    def stock(self, request, code=None):
        balances = selectors.balance_list(actor=request.user, warehouse=self.get_object())
        return Response(BalanceRowSerializer(balances.order_by("item__code"), many=True).data)


class MovementSerializer(serializers.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    item = serializers.CharField(source="item.code")

    class Meta:
        model = Movement
        fields = [
            "id",
            "warehouse",
            "item",
            "kind",
            "quantity",
            "day",
            "occurred_at",
            "reason",
            "reference",
            "counterpart",
            "request",
        ]


class MovementCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["receipt", "issue", "stock_take", "transfer"])
    warehouse = serializers.CharField(help_text="warehouse code (the source of a transfer)")
    destination = serializers.CharField(required=False, help_text="transfers only")
    item = serializers.CharField(help_text="item code")
    quantity = serializers.IntegerField(
        min_value=0, help_text="the counted quantity for a stock-take"
    )
    day = serializers.DateField(required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    reference = serializers.CharField(required=False, allow_blank=True, default="")


class MovementViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The stock ledger within the caller's subtree (filters: warehouse, item, kind); POST records
    a receipt, issue, transfer (both sides) or stock-take."""

    serializer_class = MovementSerializer
    queryset = Movement.objects.none()

    def get_queryset(self):
        qs = selectors.movement_list(actor=self.request.user)
        params = self.request.query_params
        if params.get("warehouse"):
            qs = qs.filter(warehouse__code=params["warehouse"])
        if params.get("item"):
            qs = qs.filter(item__code=params["item"])
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        return qs

    @extend_schema(request=MovementCreateSerializer, responses={201: MovementSerializer(many=True)})
    def create(self, request, *args, **kwargs):
        data = MovementCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        warehouse = selectors.access_warehouse(request.user, v["warehouse"])
        item = Item.objects.filter(code=v["item"]).first()
        if item is None:
            raise serializers.ValidationError({"item": [f"unknown item {v['item']}"]})
        destination = None
        if v["kind"] == "transfer" and v.get("destination"):
            # Through the guard: another district's warehouse is reached by its own supply
            # request (allocation), and an unknown code and a foreign one answer alike.
            destination = selectors.access_warehouse(request.user, v["destination"])
        lines = services.movement_record(
            actor=request.user,
            warehouse=warehouse,
            kind=v["kind"],
            item=item,
            quantity=v["quantity"],
            day=v.get("day"),
            reference=v["reference"],
            reason=v["reason"],
            destination=destination,
        )
        return Response(MovementSerializer(lines, many=True).data, status=201)


class CoverViewSet(viewsets.ViewSet):
    """Stock, daily use (mean of the last 7 days' issues) and days of cover per item, for a node
    (default: the caller's) and each of its children. days_of_cover null = no consumption."""

    @extend_schema(
        parameters=[
            OpenApiParameter("node", OpenApiTypes.STR, description="jurisdiction code"),
            OpenApiParameter("today", OpenApiTypes.DATE),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request):
        node = selectors.access_node(request.user, request.query_params.get("node"))
        today = timezone.localdate()
        if request.query_params.get("today"):
            field = serializers.DateField()
            try:
                today = field.to_internal_value(request.query_params["today"])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"today": exc.detail}) from exc
        table = selectors.cover_table(actor=request.user, node=node, today=today)
        return Response(
            {
                "node": node.code,
                "today": today,
                "threshold_days": services.shortage_threshold_days(),
                "total": table["total"],
                "children": table["rows"],
            }
        )


class EnterpriseSerializer(serializers.ModelSerializer):
    jurisdiction = serializers.CharField(source="jurisdiction.code", read_only=True)
    capacities = serializers.SerializerMethodField()

    class Meta:
        model = Enterprise
        fields = ["id", "code", "name", "address", "jurisdiction", "capacities"]

    def get_capacities(self, obj) -> dict[str, int]:
        return {c.item.code: c.daily_capacity for c in obj.capacities.all()}


class OutputSerializer(serializers.ModelSerializer):
    enterprise = serializers.CharField(source="enterprise.code", read_only=True)
    item = serializers.CharField(source="item.code")

    class Meta:
        model = OutputReport
        fields = ["id", "enterprise", "item", "day", "quantity", "reported_at"]


class OutputCreateSerializer(serializers.Serializer):
    item = serializers.CharField()
    day = serializers.DateField()
    quantity = serializers.IntegerField(min_value=0)


class EnterpriseViewSet(viewsets.ReadOnlyModelViewSet):
    """Producers within the caller's subtree with daily capacity; POST report = one day's output."""

    serializer_class = EnterpriseSerializer
    queryset = Enterprise.objects.none()

    def get_queryset(self):
        return selectors.enterprise_list(actor=self.request.user).prefetch_related(
            "capacities__item"
        )

    def get_object(self):
        return selectors.access_enterprise(self.request.user, self.kwargs["pk"])

    @extend_schema(request=OutputCreateSerializer, responses={200: OutputSerializer})
    @action(detail=True, methods=["post"])
    def report(self, request, pk=None):
        enterprise = self.get_object()
        data = OutputCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = Item.objects.filter(code=data.validated_data["item"]).first()
        if item is None:
            raise serializers.ValidationError({"item": ["unknown item"]})
        report, created = services.enterprise_output_report(
            actor=request.user,
            enterprise=enterprise,
            item=item,
            day=data.validated_data["day"],
            quantity=data.validated_data["quantity"],
        )
        return Response(OutputSerializer(report).data, status=201 if created else 200)


class OutputViewSet(viewsets.ReadOnlyModelViewSet):
    """Reported output within the caller's subtree, newest day first."""

    serializer_class = OutputSerializer
    queryset = OutputReport.objects.none()

    def get_queryset(self):
        return selectors.output_list(actor=self.request.user)


class RequestSerializer(serializers.ModelSerializer):
    jurisdiction = serializers.CharField(source="jurisdiction.code")
    item = serializers.CharField(source="item.code")
    deliver_to = serializers.CharField(source="deliver_to.code", default=None)

    class Meta:
        model = SupplyRequest
        fields = [
            "id",
            "jurisdiction",
            "item",
            "quantity",
            "allocated",
            "needed_by",
            "priority",
            "deliver_to",
            "status",
            "note",
            "created_at",
        ]


class RequestCreateSerializer(serializers.Serializer):
    jurisdiction = serializers.CharField()
    item = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    needed_by = serializers.DateField()
    priority = serializers.ChoiceField(choices=SupplyRequest.Priority.choices, default=3)
    deliver_to = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AllocateSerializer(serializers.Serializer):
    warehouse = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)


class RequestViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Supply requests of units within the caller's subtree; allocate and cancel."""

    serializer_class = RequestSerializer
    queryset = SupplyRequest.objects.none()

    def get_queryset(self):
        qs = selectors.request_list(actor=self.request.user)
        if self.request.query_params.get("status"):
            qs = qs.filter(status=self.request.query_params["status"])
        return qs

    def get_object(self):
        return selectors.access_request(self.request.user, self.kwargs["pk"])

    @extend_schema(request=RequestCreateSerializer, responses={201: RequestSerializer})
    def create(self, request, *args, **kwargs):
        data = RequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        node = Jurisdiction.objects.filter(code=v["jurisdiction"]).first()
        if node is None or not path_within(request.user, node.path):
            raise serializers.ValidationError({"jurisdiction": ["not in your subtree"]})
        item = Item.objects.filter(code=v["item"]).first()
        if item is None:
            raise serializers.ValidationError({"item": ["unknown item"]})
        deliver_to = _warehouse_named(v, "deliver_to")
        supply_request = services.supply_request_create(
            actor=request.user,
            jurisdiction=node,
            item=item,
            quantity=v["quantity"],
            needed_by=v["needed_by"],
            priority=v["priority"],
            deliver_to=deliver_to,
            note=v["note"],
        )
        return Response(RequestSerializer(supply_request).data, status=201)

    @extend_schema(request=AllocateSerializer, responses={200: RequestSerializer})
    @action(detail=True, methods=["post"])
    def allocate(self, request, pk=None):
        supply_request = self.get_object()
        data = AllocateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        warehouse = selectors.access_warehouse(request.user, data.validated_data["warehouse"])
        services.supply_request_allocate(
            actor=request.user,
            request=supply_request,
            warehouse=warehouse,
            quantity=data.validated_data["quantity"],
        )
        return Response(RequestSerializer(self.get_object()).data)

    @extend_schema(request=None, responses={200: RequestSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        supply_request = self.get_object()
        supply_request = services.supply_request_cancel(actor=request.user, request=supply_request)
        return Response(RequestSerializer(self.get_object()).data)
