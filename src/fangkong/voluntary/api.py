"""REST endpoints of voluntary testing: public (open slots, booking, cancel, results lookup by
one-time code; no account) and staff (schedules, slots and their places, bookings per site)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from fangkong.accounts.roles import can_see_pii
from fangkong.audit.models import Action
from fangkong.audit.services import audit_record
from fangkong.common import errors
from fangkong.common.masking import mask_id_number, mask_phone
from fangkong.common.schema import ErrorSerializer
from fangkong.testing.models import Site

from . import selectors, services
from .models import Booking, Schedule, Slot


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
        "example": "08:00",
        "description": "local time (Asia/Shanghai), HH:MM",
    }
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time of day in Asia/Shanghai, "08:00": OpenAPI's `time` format wants an
    offset, which a slot's opening hour does not have."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"], **kwargs)


def _error(text):
    return OpenApiResponse(ErrorSerializer, text)


THROTTLED = _error(_("Too many attempts from this address or for this ID number (`throttled`)."))
UNAVAILABLE = _error(_("The attempt counter is unavailable; refused (`unavailable`)."))


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class PublicMixin:
    """No account, no session: a resident's phone or an app calls these."""

    authentication_classes: list = []
    permission_classes = [AllowAny]


# ------------------------------------------------------------------ public


class OpenSlotSerializer(serializers.ModelSerializer):
    site_code = serializers.CharField(source="site.code")
    site_name = serializers.CharField(source="site.name")
    address = serializers.CharField(source="site.address")
    starts = LocalTimeField()
    ends = LocalTimeField()
    left = serializers.IntegerField()

    class Meta:
        model = Slot
        fields = [
            "id",
            "site_code",
            "site_name",
            "address",
            "day",
            "starts",
            "ends",
            "capacity",
            "left",
        ]


class DayQuery(serializers.Serializer):
    day = serializers.DateField(required=False)
    site = serializers.CharField(required=False, max_length=40, allow_blank=True)


@extend_schema(
    auth=[],
    parameters=[
        OpenApiParameter("day", dt.date, description=_("the day (default today, Asia/Shanghai)")),
        OpenApiParameter("site", str, description=_("one sampling site's code")),
    ],
)
class OpenSlotViewSet(PublicMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Public: the day's slots at sites that take voluntary bookings, with places left."""

    serializer_class = OpenSlotSerializer
    queryset = Slot.objects.none()

    def get_queryset(self):
        query = DayQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("day") or timezone.localdate()
        return selectors.open_slots(day=day, site_code=query.validated_data.get("site", ""))


class BookingCreateSerializer(serializers.Serializer):
    slot = serializers.IntegerField(min_value=1, max_value=2**62)
    id_number = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=60)


class BookingSerializer(serializers.ModelSerializer):
    qr_payload = serializers.CharField(
        help_text="what the QR code holds; the sampling desk scans it instead of the ID card"
    )
    site_code = serializers.CharField(source="site.code")
    site_name = serializers.CharField(source="site.name")
    address = serializers.CharField(source="site.address")
    starts = LocalTimeField(source="slot.starts")
    ends = LocalTimeField(source="slot.ends")

    class Meta:
        model = Booking
        fields = [
            "token",
            "qr_payload",
            "status",
            "day",
            "starts",
            "ends",
            "site_code",
            "site_name",
            "address",
        ]


class BookingViewSet(PublicMixin, viewsets.GenericViewSet):
    """Public: book a place, see a booking by its token, cancel it."""

    serializer_class = BookingSerializer
    queryset = Booking.objects.none()
    lookup_field = "token"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        auth=[],
        request=BookingCreateSerializer,
        responses={
            201: BookingSerializer,
            400: _error(
                _(
                    "Invalid input, or the ID number and name do not match (`identity_mismatch`), or the slot is over (`slot_past`)."
                )
            ),
            404: _error(_("No such slot.")),
            409: _error(
                _(
                    "The slot is full (`slot_full`) or the person has a booking that day (`already_booked`)."
                )
            ),
            429: THROTTLED,
            503: UNAVAILABLE,
        },
        summary=_("Book a voluntary test"),
    )
    def create(self, request):
        given = BookingCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        booking = services.booking_create(
            slot_id=given.validated_data["slot"],
            id_number=given.validated_data["id_number"],
            name=given.validated_data["name"],
            ip=_ip(request),
        )
        booking = services.booking_by_token(booking.token)
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)

    @extend_schema(auth=[], responses={200: BookingSerializer})
    def retrieve(self, request, token=None):
        return Response(BookingSerializer(services.booking_by_token(token)).data)

    @extend_schema(
        auth=[],
        request=None,
        responses={200: BookingSerializer, 409: _error(_("Already sampled (`booking_sampled`)."))},
        summary=_("Cancel a booking"),
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, token=None):
        booking = services.booking_cancel(token=token, ip=_ip(request))
        return Response(BookingSerializer(booking).data)


class CodeRequestSerializer(serializers.Serializer):
    id_number = serializers.CharField(max_length=40)


class LookupRequestSerializer(serializers.Serializer):
    id_number = serializers.CharField(max_length=40)
    code = serializers.CharField(max_length=12)


class SentSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ResultLineSerializer(serializers.Serializer):
    sampled_at = serializers.DateTimeField()
    site = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=list(services.STATUS_LABELS))
    label = serializers.CharField()


class LookupSerializer(serializers.Serializer):
    name = serializers.CharField()
    results = ResultLineSerializer(many=True)
    bookings = BookingSerializer(many=True)


class LookupViewSet(PublicMixin, viewsets.GenericViewSet):
    """Public: a resident's own results, by ID number and a one-time code sent by SMS."""

    serializer_class = LookupSerializer
    queryset = Booking.objects.none()

    @extend_schema(
        auth=[],
        request=CodeRequestSerializer,
        responses={202: SentSerializer, 429: THROTTLED, 503: UNAVAILABLE},
        summary=_("Send a one-time code for the results lookup"),
        description=_(
            "The same answer whether the number is registered or not. The code goes to the "
            "phone the population registry holds, is valid 10 minutes, once, for 5 tries."
        ),
    )
    @action(detail=False, methods=["post"])
    def code(self, request):
        given = CodeRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        text = services.lookup_code_send(
            id_number=given.validated_data["id_number"], ip=_ip(request)
        )
        return Response({"detail": text}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        auth=[],
        request=LookupRequestSerializer,
        responses={
            200: LookupSerializer,
            400: _error(_("Invalid input, or a wrong, used or expired code (`code_invalid`).")),
            429: THROTTLED,
            503: UNAVAILABLE,
        },
        summary=_("See my results"),
    )
    def create(self, request):
        given = LookupRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        lookup = services.lookup_results(
            id_number=given.validated_data["id_number"],
            code=given.validated_data["code"],
            ip=_ip(request),
        )
        return Response(LookupSerializer(lookup).data)


# ------------------------------------------------------------------ staff


class ScheduleSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", queryset=Site.objects.all())
    site_name = serializers.CharField(source="site.name", read_only=True)
    opens = LocalTimeField()
    closes = LocalTimeField()

    class Meta:
        model = Schedule
        fields = [
            "id",
            "site",
            "site_name",
            "opens",
            "closes",
            "slot_minutes",
            "capacity",
            "active",
        ]


class ScheduleUpdateSerializer(serializers.Serializer):
    opens = LocalTimeField()
    closes = LocalTimeField()
    slot_minutes = serializers.IntegerField(min_value=10, max_value=240)
    capacity = serializers.IntegerField(min_value=1, max_value=1000)
    active = serializers.BooleanField(default=True)


class OpenDaySerializer(serializers.Serializer):
    day = serializers.DateField()


class SlotSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    starts = LocalTimeField(read_only=True)
    ends = LocalTimeField(read_only=True)

    class Meta:
        model = Slot
        fields = ["id", "site", "day", "starts", "ends", "capacity", "booked"]
        read_only_fields = ["day", "starts", "ends", "booked"]


class CapacitySerializer(serializers.Serializer):
    capacity = serializers.IntegerField(min_value=0, max_value=1000)


class ScheduleViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Each site's voluntary-testing schedule in the caller's subtree; open a day's slots."""

    serializer_class = ScheduleSerializer
    queryset = Schedule.objects.none()

    def get_queryset(self):
        return selectors.schedule_list(actor=self.request.user)

    def get_object(self):
        return selectors.access_schedule(self.request.user, self.kwargs["pk"])

    @extend_schema(request=ScheduleSerializer, responses={201: ScheduleSerializer})
    def create(self, request, *args, **kwargs):
        given = ScheduleSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        site = data.pop("site")
        from fangkong.testing import selectors as testing_selectors

        site = testing_selectors.access_site(request.user, site.code)
        schedule = services.schedule_set(actor=request.user, site=site, **data)
        return Response(ScheduleSerializer(schedule).data, status=201)

    @extend_schema(request=ScheduleUpdateSerializer, responses=ScheduleSerializer)
    def partial_update(self, request, pk=None):
        schedule = self.get_object()
        given = ScheduleUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        schedule = services.schedule_set(
            actor=request.user, site=schedule.site, **given.validated_data
        )
        return Response(ScheduleSerializer(schedule).data)

    @extend_schema(request=OpenDaySerializer, responses=SlotSerializer(many=True))
    @action(detail=True, methods=["post"])
    def open(self, request, pk=None):
        """Open the day's slots from the schedule; slots that exist keep their places."""
        schedule = self.get_object()
        given = OpenDaySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        slots = services.slots_open(
            actor=request.user, schedule=schedule, day=given.validated_data["day"]
        )
        return Response(SlotSerializer(slots, many=True).data)


class StaffFilter(serializers.Serializer):
    site = serializers.CharField(required=False, max_length=40)
    day = serializers.DateField(required=False)


def _filters(request) -> dict:
    query = StaffFilter(data=request.query_params)
    query.is_valid(raise_exception=True)
    found = {}
    if query.validated_data.get("site"):
        from fangkong.testing import selectors as testing_selectors

        found["site_id"] = testing_selectors.access_site(
            request.user, query.validated_data["site"]
        ).pk
    if query.validated_data.get("day"):
        found["day"] = query.validated_data["day"]
    return found


STAFF_PARAMS = [
    OpenApiParameter("site", str, description=_("a sampling site's code")),
    OpenApiParameter("day", dt.date, description=_("one day")),
]


@extend_schema(parameters=STAFF_PARAMS)
class SlotViewSet(mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Slots of the caller's sites, with places and bookings; change one slot's places."""

    serializer_class = SlotSerializer
    queryset = Slot.objects.none()
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.slot_list(actor=self.request.user, **_filters(self.request))

    def get_object(self):
        return selectors.access_slot(self.request.user, self.kwargs["pk"])

    @extend_schema(
        parameters=[],
        request=CapacitySerializer,
        responses={
            200: SlotSerializer,
            409: _error(_("Below the bookings held (`below_booked`).")),
        },
    )
    def partial_update(self, request, pk=None):
        slot = self.get_object()
        given = CapacitySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        slot = services.slot_capacity_set(
            actor=request.user, slot=slot, capacity=given.validated_data["capacity"]
        )
        return Response(SlotSerializer(slot).data)


class SiteBookingSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="person.name")
    document_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    site = serializers.CharField(source="site.code")
    starts = LocalTimeField(source="slot.starts")
    ends = LocalTimeField(source="slot.ends")

    class Meta:
        model = Booking
        fields = [
            "id",
            "site",
            "day",
            "starts",
            "ends",
            "status",
            "name",
            "document_number",
            "phone",
            "created_at",
            "sampled_at",
            "tube_barcode",
        ]

    def _pii(self) -> bool:
        return bool(self.context.get("pii"))

    def get_document_number(self, obj) -> str:
        number = obj.person.document_number
        return number if self._pii() else mask_id_number(number)

    def get_phone(self, obj) -> str:
        return obj.person.phone if self._pii() else mask_phone(obj.person.phone)


@extend_schema(parameters=STAFF_PARAMS)
class SiteBookingViewSet(viewsets.ReadOnlyModelViewSet):
    """Bookings at the caller's sites; ID numbers and phones masked unless the role may see
    them (each unmasked answer is written to the audit log)."""

    serializer_class = SiteBookingSerializer
    queryset = Booking.objects.none()

    def get_queryset(self):
        return selectors.booking_list(actor=self.request.user, **_filters(self.request))

    def get_object(self):
        if not selectors.roles.can_view_bookings(self.request.user):
            raise errors.NotFound()
        from fangkong.common.scope import access

        return access(
            selectors.booking_list(actor=self.request.user), self.request.user, pk=self.kwargs["pk"]
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "pii": can_see_pii(self.request.user)}

    def _audit(self, bookings) -> None:
        if bookings and can_see_pii(self.request.user):
            audit_record(
                actor=self.request.user,
                action=Action.VIEW_PII,
                object_type="voluntary.booking",
                object_id=",".join(str(b.pk) for b in bookings)[:64],
                object_repr=f"{len(bookings)} bookings",
                jurisdiction_path=bookings[0].jpath,
                changes={"fields": ["document_number", "phone"], "count": len(bookings)},
            )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        self._audit(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(parameters=[])
    def retrieve(self, request, *args, **kwargs):
        booking = self.get_object()
        self._audit([booking])
        return Response(self.get_serializer(booking).data)
