"""REST endpoints of the places module: places, duty checks, orders, visitors, and the public
venue-code scan (no login)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from fangkong.common import errors
from fangkong.common.schema import ErrorSerializer

from . import policy, scans, selectors, services
from .models import Duty, DutyCheck, Measure, OrderSource, Place, PlaceKind, PlaceOrder


def _pattern(name: str, values) -> type[serializers.CharField]:
    """A choice as a string pattern in the schema: another "measure"/"source" enum would
    collide with other modules' enums of the same field name."""

    @extend_schema_field({"type": "string", "pattern": "^(" + "|".join(values) + ")$"})
    class Field(serializers.CharField):
        pass

    Field.__name__ = name
    return Field


MeasureField = _pattern("MeasureField", Measure.values)
SourceField = _pattern("SourceField", OrderSource.values)
StatusField = _pattern("PlaceStatusField", ["open", *Measure.values])


class PlaceOrderSerializer(serializers.ModelSerializer):
    measure = MeasureField(read_only=True)
    source = SourceField(read_only=True)
    place_code = serializers.CharField(source="place.code", read_only=True)
    risk_area = serializers.StringRelatedField()
    response_level = serializers.IntegerField(source="response_level.level", default=None)

    class Meta:
        model = PlaceOrder
        fields = [
            "id",
            "place",
            "place_code",
            "measure",
            "capacity_percent",
            "source",
            "risk_area",
            "response_level",
            "reason",
            "issued_at",
            "lifted_at",
        ]


class PlaceSerializer(serializers.ModelSerializer):
    jurisdiction = serializers.CharField(source="jurisdiction.code")
    status = serializers.SerializerMethodField()
    duties = serializers.SerializerMethodField()
    staff_test_every_days = serializers.SerializerMethodField()

    class Meta:
        model = Place
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "place_kind",
            "jurisdiction",
            "address",
            "owner",
            "contact_name",
            "capacity",
            "active",
            "status",
            "duties",
            "staff_test_every_days",
        ]

    @extend_schema_field(StatusField)
    def get_status(self, obj) -> str:
        if getattr(obj, "closed", False):
            return Measure.CLOSED
        if getattr(obj, "restricted", False):
            return Measure.RESTRICTED
        return "open"

    def get_duties(self, obj) -> list[str]:
        return list(policy.duties_of(obj.place_kind))

    def get_staff_test_every_days(self, obj) -> int | None:
        return policy.staff_test_days(obj.place_kind)


class PlaceDetailSerializer(PlaceSerializer):
    order = serializers.SerializerMethodField()
    scan_url = serializers.SerializerMethodField()
    scans_today = serializers.SerializerMethodField()

    class Meta(PlaceSerializer.Meta):
        fields = [*PlaceSerializer.Meta.fields, "order", "scan_url", "scans_today"]

    @extend_schema_field(PlaceOrderSerializer(allow_null=True))
    def get_order(self, obj):
        order = selectors.open_order(obj)
        return PlaceOrderSerializer(order).data if order else None

    def get_scan_url(self, obj) -> str:
        from .poster import scan_url

        request = self.context.get("request")
        return scan_url(obj, request.build_absolute_uri("/") if request else "")

    def get_scans_today(self, obj) -> int:
        return sum(selectors.scans_per_hour(obj))


class PlaceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    name_en = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    place_kind = serializers.ChoiceField(choices=PlaceKind.choices)
    jurisdiction = serializers.CharField(max_length=40, help_text="the node's code")
    address = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    owner = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    contact_name = serializers.CharField(
        max_length=60, required=False, default="", allow_blank=True
    )
    contact_phone = serializers.CharField(
        max_length=20, required=False, default="", allow_blank=True
    )
    capacity = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)


class PlaceHoursSerializer(serializers.Serializer):
    day = serializers.DateField()
    hours = serializers.ListField(child=serializers.IntegerField(), min_length=24, max_length=24)
    total = serializers.IntegerField()


class PlaceVisitorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField()
    id_number = serializers.CharField()
    person_id = serializers.IntegerField(allow_null=True)
    scanned_at = serializers.DateTimeField()
    left_at = serializers.DateTimeField(allow_null=True)


class PlaceStaffSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    bound = serializers.BooleanField(default=True)


DAY = OpenApiParameter("day", OpenApiTypes.DATE, description="local day (default today)")


def _day(request) -> dt.date:
    value = request.query_params.get("day")
    if not value:
        return timezone.localdate()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not selectors.EARLIEST <= day <= selectors.LATEST:
        raise errors.Invalid(code="day_invalid", fields={"day": ["YYYY-MM-DD, 2000–2100"]})
    return day


class PlaceViewSet(viewsets.ReadOnlyModelViewSet):
    """Key places of the caller's subtree (a place's own staff: their places)."""

    serializer_class = PlaceSerializer
    queryset = Place.objects.none()

    def get_queryset(self):
        return selectors.with_open_order(selectors.place_list(actor=self.request.user)).order_by(
            "code"
        )

    def get_object(self):
        return selectors.access_place(self.request.user, self.kwargs["pk"])

    @extend_schema(responses=PlaceDetailSerializer)
    def retrieve(self, request, pk=None):
        place = selectors.with_open_order(selectors.place_list(actor=request.user))
        place = selectors.fetch(place, pk=pk)
        return Response(PlaceDetailSerializer(place, context={"request": request}).data)

    @extend_schema(request=PlaceCreateSerializer, responses={201: PlaceDetailSerializer})
    def create(self, request):
        """Register a key place; it gets its number and venue code."""
        data = PlaceCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        node = selectors.access_node(request.user, values.pop("jurisdiction"))
        place = services.place_create(actor=request.user, jurisdiction=node, **values)
        return Response(PlaceDetailSerializer(place, context={"request": request}).data, status=201)

    @extend_schema(parameters=[DAY], responses=PlaceHoursSerializer)
    @action(detail=True, methods=["get"])
    def hours(self, request, pk=None):
        """Scans of each hour of a local day (0–23)."""
        place = self.get_object()
        day = _day(request)
        hours = selectors.scans_per_hour(place, day)
        return Response({"day": day, "hours": hours, "total": sum(hours)})

    @extend_schema(parameters=[DAY], responses=PlaceVisitorSerializer(many=True))
    @action(detail=True, methods=["get"])
    def visitors(self, request, pk=None):
        """The place's visitors of a day (tracing roles; numbers masked without the right to
        see them, and every unmasked reading audited)."""
        place = self.get_object()
        return Response(selectors.visitors_for(actor=request.user, place=place, day=_day(request)))

    @extend_schema(request=PlaceStaffSerializer, responses={204: None})
    @action(detail=True, methods=["post"])
    def staff(self, request, pk=None):
        """Bind (or unbind) a place-staff login to this place."""
        place = self.get_object()
        data = PlaceStaffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = selectors.access_login(request.user, data.validated_data["username"])
        services.place_staff_bind(
            actor=request.user, place=place, user=user, bound=data.validated_data["bound"]
        )
        return Response(status=204)


class DutyCheckSerializer(serializers.ModelSerializer):
    place_code = serializers.CharField(source="place.code", read_only=True)

    class Meta:
        model = DutyCheck
        fields = ["id", "place", "place_code", "day", "duty", "done", "note", "recorded_at"]


class DutyCheckCreateSerializer(serializers.Serializer):
    place = serializers.IntegerField()
    duty = serializers.ChoiceField(choices=Duty.choices)
    done = serializers.BooleanField()
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    day = serializers.DateField(required=False, default=None, allow_null=True)


class DutyCheckViewSet(viewsets.ReadOnlyModelViewSet):
    """Daily duty checks of the caller's places."""

    serializer_class = DutyCheckSerializer
    queryset = DutyCheck.objects.none()

    def get_queryset(self):
        qs = selectors.duty_check_list(actor=self.request.user).order_by("-day", "place_id", "duty")
        place = self.request.query_params.get("place")
        if place and place.isdigit() and len(place) < 18:
            qs = qs.filter(place_id=int(place))
        return qs

    def get_object(self):
        return selectors.access_duty_check(self.request.user, self.kwargs["pk"])

    @extend_schema(
        parameters=[OpenApiParameter("place", OpenApiTypes.INT, description="one place's checks")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=DutyCheckCreateSerializer, responses={201: DutyCheckSerializer})
    def create(self, request):
        """Record (or correct) one duty of one place for a day."""
        data = DutyCheckCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        place = selectors.access_place(request.user, v["place"])
        check = services.duty_check_record(
            actor=request.user,
            place=place,
            duty=v["duty"],
            done=v["done"],
            note=v["note"],
            day=v["day"],
        )
        return Response(DutyCheckSerializer(check).data, status=201)


class PlaceOrderCreateSerializer(serializers.Serializer):
    place = serializers.IntegerField()
    measure = serializers.ChoiceField(choices=Measure.choices)
    capacity_percent = serializers.IntegerField(min_value=0, max_value=100, default=0)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class PlaceOrdersApplySerializer(serializers.Serializer):
    issued = serializers.IntegerField()
    lifted = serializers.IntegerField()
    kept = serializers.IntegerField()


class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Closure and restriction orders of the caller's places."""

    serializer_class = PlaceOrderSerializer
    queryset = PlaceOrder.objects.none()

    def get_queryset(self):
        return selectors.order_list(actor=self.request.user).order_by("-issued_at", "-id")

    def get_object(self):
        return selectors.access_order(self.request.user, self.kwargs["pk"])

    @extend_schema(request=PlaceOrderCreateSerializer, responses={201: PlaceOrderSerializer})
    def create(self, request):
        """Close a place or restrict its capacity (replacing its open order)."""
        data = PlaceOrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        place = selectors.access_place(request.user, v["place"])
        order = services.place_order_issue(
            actor=request.user,
            place=place,
            measure=v["measure"],
            capacity_percent=v["capacity_percent"],
            reason=v["reason"],
        )
        return Response(PlaceOrderSerializer(order).data, status=201)

    @extend_schema(request=None, responses=PlaceOrderSerializer)
    @action(detail=True, methods=["post"])
    def lift(self, request, pk=None):
        order = services.place_order_lift(actor=request.user, order=self.get_object())
        return Response(PlaceOrderSerializer(order).data)

    @extend_schema(request=None, responses=PlaceOrdersApplySerializer)
    @action(detail=False, methods=["post"])
    def apply(self, request):
        """Bring the caller's places in line with the risk areas and the response level."""
        return Response(services.place_orders_apply(actor=request.user))


class VenueVisitSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16, help_text="the venue code (from the QR's address)")
    phone = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    id_number = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)


class VenueVisitAnswerSerializer(serializers.Serializer):
    scan = serializers.IntegerField()
    repeat = serializers.BooleanField(help_text="the same visit was recorded already")
    scanned_at = serializers.DateTimeField()
    place = serializers.CharField()
    place_en = serializers.CharField()
    place_code = serializers.CharField()
    status = StatusField()
    capacity_percent = serializers.IntegerField()


class VenueLeaveSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16)
    scan = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    phone = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    id_number = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)


class VenueLeftSerializer(serializers.Serializer):
    left = serializers.BooleanField()


def visit_answer(result: scans.ScanResult) -> dict:
    v = result.venue
    return {
        "scan": result.scan_id,
        "repeat": result.repeat,
        "scanned_at": result.scanned_at,
        "place": v.name,
        "place_en": v.name_en,
        "place_code": v.code,
        "status": v.measure or "open",
        "capacity_percent": v.capacity_percent,
    }


THROTTLED = OpenApiResponse(ErrorSerializer, "too many scans from this address or number")


class VisitViewSet(viewsets.GenericViewSet):
    """The public venue-code scan: no login, no session; throttled per address and number."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = VenueVisitSerializer

    @extend_schema(
        request=VenueVisitSerializer,
        responses={
            201: VenueVisitAnswerSerializer,
            200: VenueVisitAnswerSerializer,
            429: THROTTLED,
        },
        auth=[],
        summary="Record a visit at a venue code",
        description="201: a new visit; 200: this number's visit here is recorded already. "
        "The answer names the place and its status, never another visitor.",
    )
    def create(self, request):
        data = VenueVisitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = scans.scan_record(
            token=v["code"],
            phone=v["phone"],
            id_number=v["id_number"],
            ip=scans.client_ip(request),
        )
        return Response(visit_answer(result), status=200 if result.repeat else 201)

    @extend_schema(
        request=VenueLeaveSerializer,
        responses={200: VenueLeftSerializer, 429: THROTTLED},
        auth=[],
        summary="Record leaving (optional)",
    )
    @action(detail=False, methods=["post"])
    def leave(self, request):
        data = VenueLeaveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        phone, id_number = scans.visitor_number(phone=v["phone"], id_number=v["id_number"])
        left = scans.scan_leave(token=v["code"], scan_id=v["scan"], number=phone or id_number)
        return Response({"left": left})
