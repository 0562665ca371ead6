"""REST endpoints of the control module: orders, checks, release, sites, rooms, the board."""

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from fangkong.common.fields import DateTimeField
from fangkong.common.keyset import KeysetPagination
from fangkong.common.scope import access
from fangkong.people.models import Person
from fangkong.people.privacy import masked

from . import selectors, services
from .models import Category, ControlOrder, Site


class OrderSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name")
    document_number = serializers.SerializerMethodField()
    policy = serializers.StringRelatedField()
    room = serializers.StringRelatedField()

    class Meta:
        model = ControlOrder
        fields = [
            "id",
            "person",
            "person_name",
            "document_number",
            "category",
            "policy",
            "status",
            "start_date",
            "end_date",
            "measure",
            "room",
            "reason",
            "source",
        ]

    def get_document_number(self, obj) -> str:
        return masked(obj.person)["document_number"]


class OrderCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    category = serializers.ChoiceField(choices=Category.choices)
    start = DateTimeField(required=False)
    reason = serializers.CharField(max_length=200, required=False, default="")
    source = serializers.CharField(max_length=60, required=False, default="")


class CheckSerializer(serializers.Serializer):
    temperature = serializers.DecimalField(max_digits=3, decimal_places=1)
    symptoms = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class SelfReportLinkSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="the person's link; opens while the order is open")
    version = serializers.IntegerField()


def _self_report_link(request, order) -> Response:
    path = reverse("control:self_report", args=[services.selfreport_token(order)])
    return Response({"url": request.build_absolute_uri(path), "version": order.self_report_version})


class HealthCheckSerializer(serializers.Serializer):
    day = serializers.IntegerField(help_text="day of the order")
    temperature = serializers.CharField(help_text="°C, one decimal")


class RoomsAssignedSerializer(serializers.Serializer):
    assigned = serializers.IntegerField()
    unassigned = serializers.IntegerField(help_text="orders left without a room: none free")


class BoardCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    due_tests = serializers.IntegerField()
    missed = serializers.IntegerField()
    centralized = serializers.IntegerField()
    home_isolation = serializers.IntegerField()
    home_monitoring = serializers.IntegerField()
    self_monitoring = serializers.IntegerField()


class BoardChildSerializer(BoardCountsSerializer):
    code = serializers.CharField()
    name = serializers.CharField()


class BoardSerializer(serializers.Serializer):
    node = serializers.CharField()
    day = serializers.DateField()
    total = BoardCountsSerializer()
    children = BoardChildSerializer(many=True)


class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OrderSerializer
    queryset = ControlOrder.objects.none()
    pagination_class = KeysetPagination

    def get_queryset(self):
        status = self.request.query_params.get("status", "open")
        return selectors.order_list(actor=self.request.user, status=status or None).order_by("id")

    def get_object(self):
        return selectors.access_order(self.request.user, self.kwargs["pk"])

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer})
    def create(self, request):
        data = OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = access(
            Person.objects.all(), request.user, "jpath", pk=data.validated_data["person"]
        )
        order = services.control_order_request(
            actor=request.user,
            person=person,
            category=data.validated_data["category"],
            start=data.validated_data.get("start") or timezone.now(),
            reason=data.validated_data["reason"],
            source=data.validated_data["source"],
        )
        return Response(OrderSerializer(order).data, status=201)

    @extend_schema(request=CheckSerializer, responses={201: HealthCheckSerializer})
    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        """Record today's health check (temperature, symptoms)."""
        order = self.get_object()
        data = CheckSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        check = services.health_check_record(actor=request.user, order=order, **data.validated_data)
        return Response({"day": check.day, "temperature": str(check.temperature)}, status=201)

    @extend_schema(request=None, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        order = self.get_object()
        order = services.control_order_release(actor=request.user, order=order)
        return Response(OrderSerializer(order).data)

    @extend_schema(request=None, responses=SelfReportLinkSerializer)
    @action(detail=True, methods=["get"], url_path="self-report-link")
    def self_report_link(self, request, pk=None):
        """The person's self-report link, to send by SMS; it closes when the order ends."""
        order = services.selfreport_link_check(actor=request.user, order=self.get_object())
        return _self_report_link(request, order)

    @extend_schema(request=None, responses=SelfReportLinkSerializer)
    @action(detail=True, methods=["post"], url_path="self-report-link/revoke")
    def self_report_revoke(self, request, pk=None):
        """Withdraw the link (sent to the wrong number, phone lost); answers the new link."""
        order = services.selfreport_revoke(actor=request.user, order=self.get_object())
        return _self_report_link(request, order)

    @extend_schema(request=None, responses=RoomsAssignedSerializer)
    @action(detail=False, methods=["post"], url_path="assign-rooms")
    def assign_rooms(self, request):
        """Rooms for every open centralized order of the caller's subtree that has none."""
        return Response(services.rooms_assign_open(actor=request.user))

    @extend_schema(responses=BoardSerializer)
    @action(detail=False)
    def board(self, request):
        node = selectors.actor_node(request.user)
        if node is None:
            raise PermissionDenied
        data = selectors.control_board(actor=request.user, node=node)
        return Response(
            {
                "node": node.code,
                "day": data["day"],
                "total": data["total"],
                "children": [
                    {
                        **{k: v for k, v in r.items() if k != "node"},
                        "code": r["node"].code,
                        "name": r["node"].name,
                    }
                    for r in data["children"]
                ],
            }
        )


class IsolationSiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name", "kind", "address", "capacity", "reserve_target", "active"]


class SiteRoomsSerializer(serializers.Serializer):
    vacant = serializers.IntegerField()
    occupied = serializers.IntegerField()
    cleaning = serializers.IntegerField()
    out_of_service = serializers.IntegerField()
    free = serializers.IntegerField()


class SiteOccupancyRowSerializer(SiteRoomsSerializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class SiteOccupancySerializer(serializers.Serializer):
    sites = SiteOccupancyRowSerializer(many=True)
    total = SiteRoomsSerializer()


class IsolationSiteViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = IsolationSiteSerializer
    queryset = Site.objects.none()

    def get_queryset(self):
        return selectors.site_list(actor=self.request.user).order_by("code")

    def get_object(self):
        return selectors.access_site(self.request.user, self.kwargs["pk"])

    @extend_schema(responses=SiteOccupancySerializer)
    @action(detail=False)
    def occupancy(self, request):
        data = selectors.site_occupancy(actor=request.user)
        return Response(
            {
                "sites": [{k: v for k, v in s.items() if k != "jpath"} for s in data["sites"]],
                "total": data["total"],
            }
        )
