"""REST endpoints of tracing: cases and their history, activities, contacts/leads, clusters."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from fangkong.common.fields import DateTimeField
from fangkong.common.keyset import KeysetPagination
from fangkong.common.params import KeyField, query
from fangkong.common.scope import access, require, scoped
from fangkong.people.models import Person
from fangkong.people.privacy import audit_contact_named_outside, masked, person_for_contact

from . import roles, selectors, services
from .models import (
    Activity,
    Case,
    CaseEvent,
    Classification,
    ClusterEvent,
    Contact,
    ContactKind,
    FoundBy,
    LeadState,
    Setting,
    Severity,
    Travel,
)


class CaseEventSerializer(serializers.ModelSerializer):
    # Named apart from the other modules' "kind" fields, so the schema's enum names stay clean.
    event = serializers.ChoiceField(source="kind", choices=CaseEvent.Kind.choices, read_only=True)

    class Meta:
        model = CaseEvent
        fields = ["event", "from_value", "to_value", "note", "at"]


class CaseSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    document_number = serializers.SerializerMethodField()
    grid = serializers.CharField(source="person.grid.code", read_only=True)
    cluster_event = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "code",
            "person",
            "person_name",
            "document_number",
            "grid",
            "classification",
            "severity",
            "found_by",
            "under_control_when_found",
            "onset_date",
            "sampling_date",
            "report_date",
            "onset_at",
            "first_visit_at",
            "reported_at",
            "diagnosed_at",
            "isolated_at",
            "admitted_at",
            "window_start",
            "window_end",
            "window_edited",
            "cluster_event",
            "source_tube",
        ]

    def get_document_number(self, obj) -> str:
        return masked(obj.person)["document_number"]


class IntervalSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    hours = serializers.FloatField(allow_null=True)
    inconsistent = serializers.BooleanField(
        help_text="the two moments are in the wrong order (bad data; left out of aggregates)"
    )


class CaseDetailSerializer(CaseSerializer):
    history = CaseEventSerializer(source="events", many=True, read_only=True)
    intervals = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "history", "intervals"]

    @extend_schema_field(IntervalSerializer(many=True))
    def get_intervals(self, obj) -> list[dict]:
        return [{**i, "label": str(i["label"])} for i in selectors.case_intervals(obj)]


class CaseCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    classification = serializers.ChoiceField(choices=Classification.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, default="")
    found_by = serializers.ChoiceField(choices=FoundBy.choices, default=FoundBy.OTHER)
    reported_at = DateTimeField(required=False)
    onset_date = serializers.DateField(required=False, allow_null=True)
    sampling_date = serializers.DateField(required=False, allow_null=True)
    onset_at = DateTimeField(required=False, allow_null=True)


class ReclassifySerializer(serializers.Serializer):
    classification = serializers.ChoiceField(choices=Classification.choices)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class SeveritySerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class TimesSerializer(serializers.Serializer):
    onset_date = serializers.DateField(required=False, allow_null=True)
    sampling_date = serializers.DateField(required=False, allow_null=True)
    onset_at = DateTimeField(required=False, allow_null=True)
    first_visit_at = DateTimeField(required=False, allow_null=True)
    reported_at = DateTimeField(required=False, allow_null=True)
    diagnosed_at = DateTimeField(required=False, allow_null=True)
    isolated_at = DateTimeField(required=False, allow_null=True)
    admitted_at = DateTimeField(required=False, allow_null=True)


class WindowSerializer(serializers.Serializer):
    start = DateTimeField(allow_null=True, help_text="null: derive from the policy")
    end = DateTimeField(required=False, allow_null=True)


class AggregateSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    cases = serializers.IntegerField()
    mean_hours = serializers.FloatField(allow_null=True)
    median_hours = serializers.FloatField(allow_null=True)
    inconsistent = serializers.IntegerField(
        help_text="cases whose two moments are in the wrong order, left out of the figures"
    )


class FiguresSerializer(serializers.Serializer):
    cases = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    asymptomatic = serializers.IntegerField()
    under_control = serializers.IntegerField()
    under_control_share = serializers.FloatField(allow_null=True)
    clusters = serializers.IntegerField()
    cases_in_clusters = serializers.IntegerField()
    cases_per_cluster = serializers.FloatField(allow_null=True)


CASE_FILTERS = [
    OpenApiParameter("classification", OpenApiTypes.STR, enum=Classification.values),
    OpenApiParameter("severity", OpenApiTypes.STR, enum=Severity.values),
    OpenApiParameter("found_by", OpenApiTypes.STR, enum=FoundBy.values),
    OpenApiParameter("since", OpenApiTypes.DATE, description="report date from"),
    OpenApiParameter("until", OpenApiTypes.DATE, description="report date to"),
    OpenApiParameter("cluster", OpenApiTypes.STR, description="cluster event code"),
    OpenApiParameter("q", OpenApiTypes.STR, description="case number or name"),
]


class CaseFilterSerializer(serializers.Serializer):
    classification = serializers.CharField(required=False, allow_blank=True)
    severity = serializers.CharField(required=False, allow_blank=True)
    found_by = serializers.CharField(required=False, allow_blank=True)
    since = serializers.DateField(required=False, allow_null=True)
    until = serializers.DateField(required=False, allow_null=True)
    cluster = serializers.CharField(required=False, allow_blank=True)
    q = serializers.CharField(required=False, allow_blank=True)


class CaseFilter(serializers.Serializer):
    case = KeyField()


class ContactFilterSerializer(CaseFilter):
    state = serializers.CharField(required=False, allow_blank=True)


class ComponentFilterSerializer(serializers.Serializer):
    min_cases = serializers.IntegerField(required=False, default=services.CLUSTER_MIN_CASES)


def _filters(request) -> dict:
    return query(request, CaseFilterSerializer)


class TravelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Travel
        fields = ["id", "origin", "destination", "departed_at", "arrived_at", "mode", "reference"]
        read_only_fields = ["id"]


@extend_schema(parameters=CASE_FILTERS)
class CaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Cases in the caller's subtree; reclassification keeps the case and its history."""

    queryset = Case.objects.none()
    pagination_class = KeysetPagination

    def get_serializer_class(self):
        return CaseDetailSerializer if self.action == "retrieve" else CaseSerializer

    def get_queryset(self):
        return selectors.case_list(
            actor=self.request.user, filters=_filters(self.request)
        ).order_by("-reported_at", "-id")

    def get_object(self):
        return selectors.access_case(self.request.user, self.kwargs["pk"])

    def _answer(self, call, *args, **kwargs):
        case = call(*args, **kwargs)
        return Response(
            CaseDetailSerializer(selectors.access_case(self.request.user, case.pk)).data
        )

    @extend_schema(request=CaseCreateSerializer, responses={201: CaseDetailSerializer})
    def create(self, request):
        data = CaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        person = access(Person.objects.all(), request.user, "jpath", pk=fields.pop("person"))
        case = services.case_open(actor=request.user, person=person, **fields)
        return Response(CaseDetailSerializer(case).data, status=201)

    @extend_schema(request=ReclassifySerializer, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def reclassify(self, request, pk=None):
        case = self.get_object()
        data = ReclassifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(
            services.case_reclassify, actor=request.user, case=case, **data.validated_data
        )

    @extend_schema(request=SeveritySerializer, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def severity(self, request, pk=None):
        case = self.get_object()
        data = SeveritySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(
            services.case_severity_set, actor=request.user, case=case, **data.validated_data
        )

    @extend_schema(request=TimesSerializer, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def times(self, request, pk=None):
        """Record the moments of the five earlies; the intervals follow."""
        case = self.get_object()
        data = TimesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(
            services.case_times_set, actor=request.user, case=case, **data.validated_data
        )

    @extend_schema(request=WindowSerializer, responses=CaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def window(self, request, pk=None):
        """Edit the infectious window; a null start derives it from the policy again."""
        case = self.get_object()
        data = WindowSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(
            services.case_window_set,
            actor=request.user,
            case=case,
            start=data.validated_data["start"],
            end=data.validated_data.get("end"),
        )

    @extend_schema(
        methods=["GET"], responses=TravelSerializer(many=True), operation_id="case_travels_list"
    )
    @extend_schema(
        methods=["POST"],
        request=TravelSerializer,
        responses={201: TravelSerializer},
        operation_id="case_travels_add",
    )
    @action(detail=True, methods=["get", "post"])
    def travels(self, request, pk=None):
        """The case's journeys in the look-back period (trains, flights, trips); POST adds one."""
        case = self.get_object()
        if request.method == "GET":
            return Response(TravelSerializer(case.travels.all(), many=True).data)
        data = TravelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        travel = services.travel_add(actor=request.user, case=case, **data.validated_data)
        return Response(TravelSerializer(travel).data, status=201)

    @extend_schema(parameters=CASE_FILTERS, responses=AggregateSerializer(many=True))
    @action(detail=False)
    def intervals(self, request):
        """The five-earlies intervals in aggregate: cases counted, mean and median hours."""
        rows = selectors.intervals_aggregate(actor=request.user, filters=_filters(request))
        return Response([{**r, "label": str(r["label"])} for r in rows])

    @extend_schema(parameters=CASE_FILTERS, responses=FiguresSerializer)
    @action(detail=False)
    def figures(self, request):
        """Key figures: cases, share found under control, clusters and cases per cluster."""
        return Response(selectors.key_figures(actor=request.user, filters=_filters(request)))


class ActivitySerializer(serializers.ModelSerializer):
    case_code = serializers.CharField(source="case.code", read_only=True)

    class Meta:
        model = Activity
        fields = [
            "id",
            "case",
            "case_code",
            "setting",
            "place",
            "address",
            "start",
            "end",
            "companions",
            "public",
        ]


@extend_schema(parameters=[OpenApiParameter("case", OpenApiTypes.INT)])
class ActivityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The activity timelines of the cases in the caller's subtree."""

    serializer_class = ActivitySerializer
    queryset = Activity.objects.none()

    def get_queryset(self):
        return selectors.activity_list(
            actor=self.request.user, case_id=query(self.request, CaseFilter).get("case")
        ).order_by("case_id", "start", "id")

    def get_object(self):
        return selectors.access_activity(self.request.user, self.kwargs["pk"])

    def create(self, request):
        data = ActivitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        case = selectors.access_case(request.user, fields.pop("case").pk)
        activity = services.activity_add(actor=request.user, case=case, **fields)
        return Response(ActivitySerializer(activity).data, status=201)


class LinkSerializer(serializers.Serializer):
    source_case = serializers.CharField(allow_null=True)
    source_contact = serializers.IntegerField(allow_null=True)
    setting = serializers.CharField()
    origin = serializers.CharField()
    last_exposure_at = DateTimeField()
    episodes = serializers.IntegerField()
    overlap_minutes = serializers.FloatField(allow_null=True)


class ContactSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    document_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    grid = serializers.CharField(source="person.grid.code", read_only=True)
    case = serializers.SlugRelatedField(slug_field="code", read_only=True)
    # "lead_state" and "contact_kind": named apart from other modules' state/kind enums.
    lead_state = serializers.ChoiceField(source="state", choices=LeadState.choices, read_only=True)
    contact_kind = serializers.ChoiceField(
        source="kind", choices=ContactKind.choices, read_only=True
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "person",
            "person_name",
            "document_number",
            "phone",
            "grid",
            "contact_kind",
            "lead_state",
            "setting",
            "origin",
            "last_exposure_at",
            "pushed_at",
            "verified_at",
            "reachable",
            "excluded_reason",
            "control_order",
            "case",
        ]

    def get_document_number(self, obj) -> str:
        return masked(obj.person)["document_number"]

    def get_phone(self, obj) -> str:
        return masked(obj.person)["phone"]


class ContactDetailSerializer(ContactSerializer):
    links = serializers.SerializerMethodField()

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "links"]

    @extend_schema_field(LinkSerializer(many=True))
    def get_links(self, obj) -> list[dict]:
        return [
            {
                "source_case": link.source_case.code if link.source_case_id else None,
                "source_contact": link.source_contact_id,
                "setting": link.setting,
                "origin": link.origin,
                "last_exposure_at": link.last_exposure_at,
                "episodes": link.episodes,
                "overlap_minutes": link.overlap_minutes,
            }
            for link in obj.links.select_related("source_case")
        ]


class ContactCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField()
    source_case = serializers.IntegerField(required=False, allow_null=True)
    source_contact = serializers.IntegerField(required=False, allow_null=True)
    contact_kind = serializers.ChoiceField(choices=ContactKind.choices, required=False)
    setting = serializers.ChoiceField(choices=Setting.choices)
    last_exposure_at = DateTimeField()


class ContactForwardedSerializer(serializers.Serializer):
    """A contact named outside the caller's subtree: passed to that person's grid, if they are
    in the registry; the caller learns neither which nor anything about them."""

    forwarded = serializers.BooleanField()


class VerifySerializer(serializers.Serializer):
    reachable = serializers.BooleanField(default=True)
    note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class ExcludeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


@extend_schema(
    parameters=[
        OpenApiParameter("state", OpenApiTypes.STR, enum=LeadState.values),
        OpenApiParameter("case", OpenApiTypes.INT, description="contacts of this case"),
    ]
)
class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Close and secondary contacts (leads) whose home grid lies in the caller's subtree."""

    queryset = Contact.objects.none()
    pagination_class = KeysetPagination

    def get_serializer_class(self):
        return ContactDetailSerializer if self.action == "retrieve" else ContactSerializer

    def get_queryset(self):
        filters = query(self.request, ContactFilterSerializer)
        return selectors.contact_list(
            actor=self.request.user, state=filters.get("state"), case_id=filters.get("case")
        ).order_by("-last_exposure_at", "-id")

    def get_object(self):
        return selectors.access_contact(self.request.user, self.kwargs["pk"])

    @extend_schema(
        request=ContactCreateSerializer,
        responses={201: ContactDetailSerializer, 202: ContactForwardedSerializer},
    )
    def create(self, request):
        """A contact of one of the caller's cases or contacts. A person outside the caller's
        subtree becomes a lead on their own grid's worklist, and the answer is 202 with nothing
        about them — the same answer as for an id that names nobody (no registry oracle)."""
        # The role first: a refusal after the lookup would tell who exists.
        require(request.user, roles.can_investigate)
        data = ContactCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        person_id = fields.pop("person")
        source_case = fields.pop("source_case", None)
        source_contact = fields.pop("source_contact", None)
        fields["kind"] = fields.pop("contact_kind", None)
        # The source first: only one's own case or contact can name anyone (404 otherwise).
        source_case = selectors.access_case(request.user, source_case) if source_case else None
        source_contact = (
            selectors.access_contact(request.user, source_contact) if source_contact else None
        )
        person, readable = person_for_contact(actor=request.user, person_id=person_id)
        contact = None
        if person is not None:
            try:
                contact = services.contact_add(
                    actor=request.user,
                    person=person,
                    source_case=source_case,
                    source_contact=source_contact,
                    **fields,
                )
            except services.TracingError:
                if readable:
                    raise
                # Outside the subtree a refusal would say the person exists: the neutral answer.
        if readable:
            return Response(ContactDetailSerializer(contact).data, status=201)
        audit_contact_named_outside(
            actor=request.user, person_id=person_id, person=person, contact=contact
        )
        return Response({"forwarded": True}, status=202)

    def _answer(self, call, **kwargs):
        contact = call(actor=self.request.user, contact=self.get_object(), **kwargs)
        return Response(ContactDetailSerializer(contact).data)

    @extend_schema(request=VerifySerializer, responses=ContactDetailSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """The grid worker found the person (reachable) — or reports them unreachable."""
        data = VerifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(services.lead_verify, **data.validated_data)

    @extend_schema(request=ExcludeSerializer, responses=ContactDetailSerializer)
    @action(detail=True, methods=["post"])
    def exclude(self, request, pk=None):
        data = ExcludeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(services.lead_exclude, reason=data.validated_data["reason"])

    @extend_schema(request=None, responses=ContactDetailSerializer)
    @action(detail=True, methods=["post"])
    def control(self, request, pk=None):
        """Put a verified lead under control: the control module opens the order."""
        return self._answer(services.lead_control, start=timezone.now())


class ClusterEventSerializer(serializers.ModelSerializer):
    cases = serializers.IntegerField(source="n_cases", read_only=True)

    class Meta:
        model = ClusterEvent
        fields = ["id", "code", "name", "setting", "place", "cases", "notes", "created_at"]


class ComponentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cases = serializers.IntegerField()
    is_cluster = serializers.BooleanField()
    first_report = serializers.DateField()
    last_report = serializers.DateField()
    generations = serializers.IntegerField()
    index_case = serializers.CharField()
    setting = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    under_control = serializers.IntegerField()


class ClusterEventCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=120)
    setting = serializers.ChoiceField(choices=Setting.choices)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    cases = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, help_text="case ids"
    )


class ClusterViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Named cluster events, and the connected components of the transmission graph."""

    serializer_class = ClusterEventSerializer
    queryset = ClusterEvent.objects.none()

    def get_queryset(self):
        return selectors.cluster_event_list(actor=self.request.user).order_by("code")

    def get_object(self):
        event = selectors.access_cluster_event(self.request.user, self.kwargs["pk"])
        return selectors.cluster_event_list(actor=self.request.user).get(pk=event.pk)

    @extend_schema(request=ClusterEventCreateSerializer, responses={201: ClusterEventSerializer})
    def create(self, request):
        """Name a cluster event in the caller's node and link cases of the caller's subtree to it."""
        data = ClusterEventCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        wanted = set(fields.pop("cases"))
        cases = list(scoped(Case.objects.filter(pk__in=wanted), request.user, "jpath"))
        if len(cases) != len(wanted):
            raise Http404  # a case outside the caller's subtree does not exist for them
        event = services.cluster_event_create(actor=request.user, cases=cases, **fields)
        event = selectors.cluster_event_list(actor=request.user).get(pk=event.pk)
        return Response(ClusterEventSerializer(event).data, status=201)

    @extend_schema(
        parameters=[OpenApiParameter("min_cases", OpenApiTypes.INT, description="default 5")],
        responses=ComponentSerializer(many=True),
    )
    @action(detail=False)
    def components(self, request):
        """Linked groups of two or more cases; `is_cluster` from `min_cases` (default 5) up."""
        min_cases = query(request, ComponentFilterSerializer)["min_cases"]
        graph = selectors.transmission_graph(actor=request.user, min_cases=max(2, min_cases))
        return Response(graph["components"])
