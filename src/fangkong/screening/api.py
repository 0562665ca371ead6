"""REST endpoints of door-to-door screening: campaigns (open, close, coverage, worklist,
unreached households), the phones' visit sync, visits, findings, re-assignment."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import selectors, services
from .models import Assignment, Campaign, Finding, Outcome, Question, Vaccination, Visit


def _pattern(values) -> dict:
    """A choice as a pattern in the schema: spectacular names enums after their field, and one
    more "status" or "kind" enum would collide with the other modules' ones."""
    return {"type": "string", "pattern": "^(" + "|".join(v for v in values if v) + ")$"}


@extend_schema_field(_pattern(Campaign.Status.values))
class CampaignStatusField(serializers.CharField):
    pass


@extend_schema_field(_pattern(Finding.Kind.values))
class FindingKindField(serializers.CharField):
    pass


@extend_schema_field(_pattern(Finding.Action.values))
class FindingActionField(serializers.CharField):
    pass


@extend_schema_field(_pattern(Outcome.values))
class OutcomeField(serializers.CharField):
    pass


class ScreeningCampaignSerializer(serializers.ModelSerializer):
    jurisdiction_code = serializers.CharField(source="jurisdiction.code", read_only=True)
    jurisdiction_name = serializers.CharField(source="jurisdiction.name", read_only=True)
    status = CampaignStatusField(read_only=True)
    questions = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "code",
            "name",
            "jurisdiction_code",
            "jurisdiction_name",
            "questions",
            "risk_days",
            "deadline",
            "status",
            "created_at",
            "closed_at",
        ]


class ScreeningCampaignCreateSerializer(serializers.Serializer):
    jurisdiction = serializers.CharField(max_length=24, help_text="the node's code")
    name = serializers.CharField(max_length=120)
    deadline = serializers.DateTimeField()
    questions = serializers.ListField(
        child=serializers.ChoiceField(choices=Question.choices), required=False, max_length=10
    )
    risk_days = serializers.IntegerField(min_value=1, max_value=60, default=14)


class ScreeningFiguresSerializer(serializers.Serializer):
    households = serializers.IntegerField()
    visited = serializers.IntegerField()
    unreached = serializers.IntegerField()
    coverage = serializers.FloatField()
    residents = serializers.IntegerField()
    people_seen = serializers.IntegerField()
    people_coverage = serializers.FloatField()
    findings = serializers.IntegerField()


class ScreeningNodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()


class ScreeningChildCoverageSerializer(ScreeningNodeSerializer, ScreeningFiguresSerializer):
    pass


class ScreeningLevelCoverageSerializer(serializers.Serializer):
    depth = serializers.IntegerField()
    units = serializers.IntegerField()
    finished = serializers.IntegerField()


class ScreeningOverdueSerializer(ScreeningNodeSerializer):
    households = serializers.IntegerField()
    visited = serializers.IntegerField()
    unreached = serializers.IntegerField()
    deadline = serializers.DateTimeField()


class ScreeningCoverageSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    node = ScreeningNodeSerializer()
    deadline = serializers.DateTimeField()
    totals = ScreeningFiguresSerializer()
    children = ScreeningChildCoverageSerializer(many=True)
    levels = ScreeningLevelCoverageSerializer(many=True)
    overdue = ScreeningOverdueSerializer(many=True)


class ScreeningMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    sex = serializers.CharField()
    age = serializers.IntegerField(allow_null=True)
    age_band = serializers.CharField()
    document_number = serializers.CharField()
    phone = serializers.CharField()
    tags = serializers.IntegerField()


class ScreeningWorkHouseholdSerializer(serializers.Serializer):
    assignment = serializers.IntegerField()
    version = serializers.IntegerField()
    household = serializers.IntegerField()
    room = serializers.CharField()
    address = serializers.CharField()
    grid = serializers.CharField()
    visited_at = serializers.DateTimeField(allow_null=True)
    visits = serializers.IntegerField()
    members = ScreeningMemberSerializer(many=True)


class ScreeningWorkBuildingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    households = ScreeningWorkHouseholdSerializer(many=True)


class ScreeningWorkCampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    deadline = serializers.DateTimeField()
    status = CampaignStatusField()
    questions = serializers.ListField(child=serializers.CharField())
    risk_days = serializers.IntegerField()


class ScreeningWorklistSerializer(serializers.Serializer):
    campaign = ScreeningWorkCampaignSerializer()
    fetched_at = serializers.DateTimeField()
    buildings = ScreeningWorkBuildingSerializer(many=True)


class ScreeningUnreachedSerializer(serializers.ModelSerializer):
    household_code = serializers.CharField(source="household.code")
    building = serializers.CharField(source="household.building.name")
    room = serializers.CharField(source="household.room")
    address = serializers.CharField(source="household.address")
    grid_code = serializers.CharField(source="grid.code")
    grid_name = serializers.CharField(source="grid.name")

    class Meta:
        model = Assignment
        fields = [
            "id",
            "version",
            "household_code",
            "building",
            "room",
            "address",
            "grid_code",
            "grid_name",
            "visits",
        ]


class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ScreeningCampaignSerializer
    queryset = Campaign.objects.none()

    def get_queryset(self):
        return selectors.campaign_list(actor=self.request.user).order_by("-created_at", "-id")

    def get_object(self):
        return selectors.access_campaign(self.request.user, self.kwargs["pk"])

    @extend_schema(
        request=ScreeningCampaignCreateSerializer, responses={201: ScreeningCampaignSerializer}
    )
    def create(self, request):
        """Open a campaign over a node's subtree: every household of its grids is in scope."""
        data = ScreeningCampaignCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        node = selectors.access_node(request.user, v["jurisdiction"])
        campaign = services.campaign_open(
            actor=request.user,
            jurisdiction=node,
            name=v["name"],
            deadline=v["deadline"],
            questions=v.get("questions"),
            risk_days=v["risk_days"],
        )
        return Response(ScreeningCampaignSerializer(campaign).data, status=201)

    @extend_schema(request=None, responses=ScreeningCampaignSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        campaign = services.campaign_close(actor=request.user, campaign=self.get_object())
        return Response(ScreeningCampaignSerializer(campaign).data)

    @extend_schema(
        parameters=[OpenApiParameter("node", str, description="a node's code inside the campaign")],
        responses=ScreeningCoverageSerializer,
    )
    @action(detail=True, methods=["get"])
    def coverage(self, request, pk=None):
        """Households visited / in scope and people seen, per child node and per level; overdue
        grids."""
        data = selectors.coverage(
            actor=request.user, campaign=self.get_object(), node=request.query_params.get("node")
        )
        return Response(ScreeningCoverageSerializer(data).data)

    @extend_schema(responses=ScreeningWorklistSerializer)
    @action(detail=True, methods=["get"])
    def worklist(self, request, pk=None):
        """The caller's households, building by building, with their registered members."""
        data = selectors.worklist(actor=request.user, campaign=self.get_object())
        return Response(ScreeningWorklistSerializer(data).data)

    @extend_schema(
        parameters=[OpenApiParameter("node", str, description="a node's code inside the campaign")],
        responses=ScreeningUnreachedSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def unreached(self, request, pk=None):
        """Households in scope nobody has met yet."""
        rows = selectors.unreached_list(
            actor=request.user, campaign=self.get_object(), node=request.query_params.get("node")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(ScreeningUnreachedSerializer(page, many=True).data)


class ScreeningAnswerSerializer(serializers.Serializer):
    person = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    lives_here = serializers.BooleanField(required=False, default=True)
    arrived_from = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    arrived_on = serializers.DateField(required=False, allow_null=True, default=None)
    fever = serializers.BooleanField(required=False, default=False)
    symptoms = serializers.BooleanField(required=False, default=False)
    vaccination = serializers.ChoiceField(
        choices=Vaccination.choices, required=False, allow_blank=True, default=""
    )
    elderly_alone = serializers.BooleanField(required=False, default=False)
    special_needs = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class ScreeningVisitInSerializer(serializers.Serializer):
    client_id = serializers.UUIDField()
    assignment = serializers.IntegerField(min_value=1, max_value=2**62)
    version = serializers.IntegerField(min_value=1, max_value=2**31)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    visited_at = serializers.DateTimeField()
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    people = ScreeningAnswerSerializer(many=True, required=False, max_length=30)


class ScreeningSyncSerializer(serializers.Serializer):
    visits = ScreeningVisitInSerializer(many=True, max_length=200)


@extend_schema_field(_pattern(["stored", "duplicate", "conflict", "rejected"]))
class SyncStatusField(serializers.CharField):
    pass


class ScreeningSyncAnswerSerializer(serializers.Serializer):
    client_id = serializers.CharField()
    status = SyncStatusField()
    code = serializers.CharField()
    detail = serializers.CharField()
    visit = serializers.IntegerField(allow_null=True)


class ScreeningSyncResultSerializer(serializers.Serializer):
    results = ScreeningSyncAnswerSerializer(many=True)


class ScreeningVisitPersonSerializer(serializers.Serializer):
    person = serializers.IntegerField(source="person_id", allow_null=True)
    name = serializers.CharField()
    lives_here = serializers.BooleanField()
    arrived_from = serializers.CharField()
    arrived_on = serializers.DateField(allow_null=True)
    fever = serializers.BooleanField()
    symptoms = serializers.BooleanField()
    vaccination = serializers.CharField()
    elderly_alone = serializers.BooleanField()
    special_needs = serializers.CharField()


class ScreeningVisitSerializer(serializers.ModelSerializer):
    household = serializers.CharField(source="assignment.household.code")
    outcome = OutcomeField()
    worker = serializers.CharField(source="worker.username", default=None, allow_null=True)
    people = ScreeningVisitPersonSerializer(many=True)

    class Meta:
        model = Visit
        fields = [
            "id",
            "client_id",
            "campaign",
            "assignment",
            "household",
            "outcome",
            "visited_at",
            "received_at",
            "worker",
            "note",
            "people",
        ]


class VisitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ScreeningVisitSerializer
    queryset = Visit.objects.none()

    def get_queryset(self):
        return (
            selectors.visit_list(actor=self.request.user)
            .prefetch_related("people")
            .order_by("-visited_at", "-id")
        )

    def get_object(self):
        return selectors.access_visit(self.request.user, self.kwargs["pk"])

    @extend_schema(request=ScreeningSyncSerializer, responses=ScreeningSyncResultSerializer)
    @action(detail=False, methods=["post"])
    def sync(self, request):
        """The phone's queue of visits recorded offline. Idempotent on each visit's client_id:
        the same id twice is stored once (the second answer is `duplicate`); a household
        re-assigned meanwhile or a closed campaign is answered per visit with its code."""
        data = ScreeningSyncSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visits = [dict(v) for v in data.validated_data["visits"]]
        for v in visits:
            v["people"] = [dict(p) for p in v.get("people", [])]
        results = services.visits_sync(actor=request.user, visits=visits)
        return Response({"results": results})


class ScreeningFindingSerializer(serializers.ModelSerializer):
    kind = FindingKindField()
    action = FindingActionField()
    name = serializers.CharField(source="visit_person.name")
    household = serializers.CharField(source="visit.assignment.household.code")
    detail = serializers.CharField(source="detail_text", read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "campaign",
            "visit",
            "person",
            "name",
            "household",
            "kind",
            "action",
            "detail",
            "risk_level",
            "control_order",
            "test_order",
            "created_at",
        ]


class FindingViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ScreeningFindingSerializer
    queryset = Finding.objects.none()

    def get_queryset(self):
        return (
            selectors.finding_list(actor=self.request.user)
            .select_related("visit_person")
            .order_by("-created_at", "-id")
        )

    def get_object(self):
        return selectors.access_finding(self.request.user, self.kwargs["pk"])


class ScreeningReassignSerializer(serializers.Serializer):
    grid = serializers.CharField(max_length=24, help_text="the new grid's code")
    worker = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default="", help_text="a username"
    )


class AssignmentViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ScreeningUnreachedSerializer
    queryset = Assignment.objects.none()

    def get_queryset(self):
        return (
            selectors.assignment_list_all(actor=self.request.user)
            .select_related("household", "household__building", "grid")
            .order_by("campaign_id", "jpath", "id")
        )

    def get_object(self):
        return selectors.access_assignment(self.request.user, self.kwargs["pk"])

    @extend_schema(request=ScreeningReassignSerializer, responses=ScreeningUnreachedSerializer)
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        """Move a household to another grid (and one of its workers); phones holding the old
        assignment get a conflict for visits recorded against it."""
        assignment = self.get_object()
        data = ScreeningReassignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        grid = selectors.access_node(request.user, v["grid"], level="grid")
        worker = selectors.access_login(request.user, v["worker"]) if v["worker"] else None
        moved = services.assignment_reassign(
            actor=request.user, assignment=assignment, grid=grid, worker=worker
        )
        return Response(
            ScreeningUnreachedSerializer(selectors.access_assignment(request.user, moved.pk)).data
        )
