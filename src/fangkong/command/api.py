"""REST endpoints of the command centre: units, tasks, inspections, findings, response levels, risk areas,
daily reports and bulletins."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from fangkong.common import errors, jobs
from fangkong.common.api import ImportJobDetailSerializer, import_job_data
from fangkong.common.fields import DateTimeField
from fangkong.common.keyset import KeysetPagination
from fangkong.common.scope import path_within
from fangkong.geo.models import Building

from . import selectors, services
from .models import (
    Answer,
    Bulletin,
    DailyReport,
    Finding,
    Inspection,
    Priority,
    Proposal,
    ResponseLevel,
    RiskArea,
    RiskLevel,
    Task,
    TaskUpdate,
    Unit,
)

PARSERS = [JSONParser, FormParser, MultiPartParser]


class UnitSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="jurisdiction.code", read_only=True)

    class Meta:
        model = Unit
        fields = ["id", "name", "kind", "node", "working_group"]


class UnitCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Unit.Kind.choices)
    node = serializers.CharField()
    working_group = serializers.CharField(required=False, allow_blank=True, default="")


class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    """The headquarters, leading groups and working groups of the caller's subtree."""

    serializer_class = UnitSerializer
    queryset = Unit.objects.none()

    def get_queryset(self):
        return selectors.unit_list(actor=self.request.user)

    @extend_schema(request=UnitCreateSerializer, responses={201: UnitSerializer})
    def create(self, request):
        data = UnitCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        node = selectors.node_within(request.user, data.validated_data.pop("node"))
        unit = services.unit_create(actor=request.user, jurisdiction=node, **data.validated_data)
        return Response(UnitSerializer(unit).data, status=201)


class TaskUpdateSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.__str__", default="", read_only=True)
    attachment = serializers.SerializerMethodField(help_text="download URL (scoped), or null")

    def get_attachment(self, obj) -> str | None:
        return (
            reverse("command:task-attachment", args=[obj.task_id, obj.pk])
            if obj.attachment
            else None
        )

    class Meta:
        model = TaskUpdate
        fields = ["id", "kind", "author", "text", "percent", "attachment", "at"]


class TaskSerializer(serializers.ModelSerializer):
    assignee = serializers.SerializerMethodField()
    dispatcher = serializers.CharField(source="dispatcher.__str__", read_only=True)
    overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "deadline",
            "priority",
            "state",
            "percent",
            "assignee",
            "dispatcher",
            "escalation_level",
            "overdue",
            "created_at",
        ]

    def get_assignee(self, obj) -> dict:
        if obj.assignee_unit_id:
            return {"type": "unit", "id": obj.assignee_unit_id, "name": obj.assignee_unit.name}
        if obj.assignee_node_id:
            return {"type": "node", "code": obj.assignee_node.code, "name": obj.assignee_node.name}
        return {"type": "user", "id": obj.assignee_user_id, "name": str(obj.assignee_user)}


class TaskDetailSerializer(TaskSerializer):
    updates = TaskUpdateSerializer(many=True, read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "updates"]


class TaskDispatchSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    deadline = DateTimeField()
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    unit = serializers.IntegerField(required=False)
    node = serializers.CharField(required=False)
    user = serializers.IntegerField(required=False)


class FeedbackSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, default="")
    percent = serializers.IntegerField(required=False, min_value=0, max_value=100)
    attachment = serializers.FileField(required=False)


class StateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=Task.State.choices)
    text = serializers.CharField(required=False, allow_blank=True, default="")


def resolve_assignee(actor, *, unit=None, node=None, user=None) -> dict:
    """The assignee named by id or code, found only inside the caller's subtree (else 404)."""
    if unit:
        found = selectors.unit_list(actor=actor).filter(pk=unit).first()
        if found is None:
            raise Http404
        return {"unit": found}
    if node:
        return {"node": selectors.node_within(actor, node)}
    if user:
        found = get_user_model().objects.select_related("jurisdiction").filter(pk=user).first()
        if (
            found is None
            or found.jurisdiction is None
            or not path_within(actor, found.jurisdiction.path)
        ):
            raise Http404
        return {"user": found}
    return {}


class TaskViewSet(viewsets.ReadOnlyModelViewSet):
    """Tasks the caller's subtree dispatched or received, overdue first. `?box=assigned` or
    `?box=dispatched` gives one column of the board."""

    serializer_class = TaskSerializer
    queryset = Task.objects.none()
    pagination_class = KeysetPagination
    parser_classes = PARSERS

    def get_queryset(self):
        box = self.request.query_params.get("box")
        if box in ("assigned", "dispatched"):
            return selectors.task_board(actor=self.request.user)[box]
        return selectors.task_list(actor=self.request.user)

    def get_object(self):
        return selectors.access_task(self.request.user, self.kwargs["pk"])

    @extend_schema(responses=TaskDetailSerializer)
    def retrieve(self, request, pk=None):
        task = self.get_object()
        return Response(TaskDetailSerializer(task).data)

    @extend_schema(request=TaskDispatchSerializer, responses={201: TaskSerializer})
    def create(self, request):
        data = TaskDispatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        assignee = resolve_assignee(
            request.user,
            unit=fields.pop("unit", None),
            node=fields.pop("node", None),
            user=fields.pop("user", None),
        )
        task = services.task_dispatch(actor=request.user, **fields, **assignee)
        return Response(
            TaskSerializer(selectors.access_task(request.user, task.pk)).data, status=201
        )

    @extend_schema(request=FeedbackSerializer, responses={201: TaskUpdateSerializer})
    @action(detail=True, methods=["post"])
    def feedback(self, request, pk=None):
        task = self.get_object()
        data = FeedbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        update = services.task_feedback(actor=request.user, task=task, **data.validated_data)
        return Response(TaskUpdateSerializer(update).data, status=201)

    @extend_schema(request=StateSerializer, responses={200: TaskSerializer})
    @action(detail=True, methods=["post"])
    def state(self, request, pk=None):
        task = self.get_object()
        data = StateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.task_set_state(actor=request.user, task=task, **data.validated_data)
        return Response(TaskSerializer(selectors.access_task(request.user, task.pk)).data)


class FindingSerializer(serializers.ModelSerializer):
    place = serializers.CharField(source="inspection.place", read_only=True)
    responsible = serializers.SerializerMethodField()
    evidence_file = serializers.SerializerMethodField(help_text="download URL (scoped), or null")

    def get_evidence_file(self, obj) -> str | None:
        return reverse("command:finding-evidence", args=[obj.pk]) if obj.evidence_file else None

    item = serializers.CharField(source="item.text", default="", read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "inspection",
            "place",
            "item",
            "description",
            "responsible",
            "deadline",
            "state",
            "evidence_text",
            "evidence_file",
            "rectified_at",
            "accepted_at",
            "rejection",
        ]

    def get_responsible(self, obj) -> str:
        return obj.responsible_unit.name if obj.responsible_unit_id else obj.responsible_node.name


class InspectionSerializer(serializers.ModelSerializer):
    inspector = serializers.CharField(source="inspector.__str__", read_only=True)
    node = serializers.CharField(source="jurisdiction.code", read_only=True)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "place",
            "node",
            "inspector",
            "unannounced",
            "visited_at",
            "state",
            "closed_at",
        ]


class InspectionDetailSerializer(InspectionSerializer):
    answers = serializers.SerializerMethodField()
    findings = FindingSerializer(many=True, read_only=True)

    class Meta(InspectionSerializer.Meta):
        fields = [*InspectionSerializer.Meta.fields, "answers", "findings"]

    def get_answers(self, obj) -> list[dict]:
        return [{"item": a.item_id, "result": a.result, "note": a.note} for a in obj.answers.all()]


class InspectionStartSerializer(serializers.Serializer):
    place = serializers.CharField(max_length=200)
    node = serializers.CharField()
    unannounced = serializers.BooleanField(default=False)
    visited_at = DateTimeField(required=False)


class AnswerSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    result = serializers.ChoiceField(choices=Answer.Result.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class SubmitSerializer(serializers.Serializer):
    answers = AnswerSerializer(many=True)
    deadline = serializers.DateField(required=False)
    responsible_unit = serializers.IntegerField(required=False)


class InspectionViewSet(viewsets.ReadOnlyModelViewSet):
    """Inspections of places in the caller's subtree; start one and submit its checklist."""

    serializer_class = InspectionSerializer
    queryset = Inspection.objects.none()

    def get_queryset(self):
        return selectors.inspection_list(actor=self.request.user)

    def get_object(self):
        return selectors.access_inspection(self.request.user, self.kwargs["pk"])

    @extend_schema(responses=InspectionDetailSerializer)
    def retrieve(self, request, pk=None):
        inspection = self.get_object()
        return Response(InspectionDetailSerializer(inspection).data)

    @extend_schema(request=InspectionStartSerializer, responses={201: InspectionSerializer})
    def create(self, request):
        data = InspectionStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        node = selectors.node_within(request.user, fields.pop("node"))
        inspection = services.inspection_start(actor=request.user, jurisdiction=node, **fields)
        return Response(InspectionSerializer(inspection).data, status=201)

    @extend_schema(request=SubmitSerializer, responses={200: InspectionDetailSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        inspection = self.get_object()
        data = SubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unit = None
        if data.validated_data.get("responsible_unit"):
            unit = resolve_assignee(request.user, unit=data.validated_data["responsible_unit"])[
                "unit"
            ]
        answers = {a["item"]: (a["result"], a["note"]) for a in data.validated_data["answers"]}
        services.inspection_submit(
            actor=request.user,
            inspection=inspection,
            answers=answers,
            deadline=data.validated_data.get("deadline"),
            responsible_unit=unit,
        )
        return Response(InspectionDetailSerializer(self.get_object()).data)


class RectifySerializer(serializers.Serializer):
    evidence_text = serializers.CharField()
    evidence_file = serializers.FileField(required=False)


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField()


class FindingViewSet(viewsets.ReadOnlyModelViewSet):
    """Findings to rectify (responsible side) or to accept (inspected place's side). `?open=1`
    leaves out accepted ones."""

    serializer_class = FindingSerializer
    queryset = Finding.objects.none()
    parser_classes = PARSERS

    def get_queryset(self):
        return selectors.finding_list(
            actor=self.request.user, open_only=self.request.query_params.get("open") == "1"
        )

    def get_object(self):
        return selectors.access_finding(self.request.user, self.kwargs["pk"])

    def _run(self, fn, **kwargs):
        finding = self.get_object()
        fn(actor=self.request.user, finding=finding, **kwargs)
        return Response(FindingSerializer(self.get_object()).data)

    @extend_schema(request=RectifySerializer, responses={200: FindingSerializer})
    @action(detail=True, methods=["post"])
    def rectify(self, request, pk=None):
        data = RectifySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._run(services.finding_rectify, **data.validated_data)

    @extend_schema(request=None, responses={200: FindingSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._run(services.finding_accept)

    @extend_schema(request=RejectSerializer, responses={200: FindingSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._run(services.finding_reject, **data.validated_data)


class ResponseLevelSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="jurisdiction.code", read_only=True)
    declared_by = serializers.CharField(source="declared_by.__str__", default="", read_only=True)

    class Meta:
        model = ResponseLevel
        fields = ["id", "node", "level", "declared_at", "declared_by", "reason"]


class DeclareLevelSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    node = serializers.CharField(required=False)


class ResponseLevelViewSet(viewsets.ReadOnlyModelViewSet):
    """Response-level declarations binding the caller (its node and those above), newest first."""

    serializer_class = ResponseLevelSerializer
    queryset = ResponseLevel.objects.none()

    def get_queryset(self):
        return selectors.response_level_history(actor=self.request.user)

    @extend_schema(request=DeclareLevelSerializer, responses={201: ResponseLevelSerializer})
    def create(self, request):
        data = DeclareLevelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        code = fields.pop("node", None)
        node = selectors.node_within(request.user, code) if code else None
        record = services.response_level_declare(actor=request.user, jurisdiction=node, **fields)
        return Response(ResponseLevelSerializer(record).data, status=201)

    @extend_schema(responses={200: ResponseLevelSerializer})
    @action(detail=False)
    def current(self, request):
        record = selectors.response_level_current(actor=request.user)
        if record is None:
            raise errors.NotFound("no response level declared")
        return Response(ResponseLevelSerializer(record).data)


class RiskAreaSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="jurisdiction.code", default="", read_only=True)
    building = serializers.CharField(source="building.code", default="", read_only=True)

    class Meta:
        model = RiskArea
        fields = [
            "id",
            "name",
            "level",
            "preset",
            "node",
            "building",
            "external",
            "province",
            "city",
            "district",
            "since",
            "level_since",
            "reason",
            "ended_on",
            "last_case_on",
            "negative_round_on",
        ]


class RiskAreaDeclareSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=RiskLevel.choices)
    preset = serializers.ChoiceField(choices=RiskArea.Preset.choices, default="2022-06")
    since = serializers.DateField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    node = serializers.CharField(required=False)
    building = serializers.CharField(required=False)
    name = serializers.CharField(required=False, allow_blank=True, default="")


class RiskFactsSerializer(serializers.Serializer):
    last_case_on = serializers.DateField(required=False)
    negative_round_on = serializers.DateField(required=False)
    ended_on = serializers.DateField(required=False)


class RiskAreaUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class RiskAreaViewSet(viewsets.ReadOnlyModelViewSet):
    """Active risk areas of the caller's subtree and of other cities (`?all=1` adds ended ones)."""

    serializer_class = RiskAreaSerializer
    queryset = RiskArea.objects.none()
    parser_classes = PARSERS

    def get_queryset(self):
        return selectors.risk_area_list(
            actor=self.request.user, active_only=self.request.query_params.get("all") != "1"
        )

    def get_object(self):
        return selectors.access_risk_area(self.request.user, self.kwargs["pk"])

    @extend_schema(request=RiskAreaDeclareSerializer, responses={201: RiskAreaSerializer})
    def create(self, request):
        data = RiskAreaDeclareSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        code, building_code = fields.pop("node", None), fields.pop("building", None)
        node = selectors.node_within(request.user, code) if code else None
        building = None
        if building_code:
            building = Building.objects.select_related("grid").filter(code=building_code).first()
            if building is None or not path_within(request.user, building.grid.path):
                raise Http404
        area = services.risk_area_declare(
            actor=request.user, jurisdiction=node, building=building, **fields
        )
        return Response(RiskAreaSerializer(area).data, status=201)

    @extend_schema(request=RiskFactsSerializer, responses={200: RiskAreaSerializer})
    @action(detail=True, methods=["post"])
    def facts(self, request, pk=None):
        area = self.get_object()
        if area.external:
            raise Http404
        data = RiskFactsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.risk_area_update(actor=request.user, area=area, **data.validated_data)
        return Response(RiskAreaSerializer(area).data)

    @extend_schema(request=RiskAreaUploadSerializer, responses={201: ImportJobDetailSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_file(self, request):
        data = RiskAreaUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        jobs.upload_check(upload)
        job = services.risk_areas_import(actor=request.user, source=upload, filename=upload.name)
        return Response(import_job_data(actor=request.user, job=job), status=201)


class ProposalSerializer(serializers.ModelSerializer):
    area_name = serializers.CharField(source="area.name", read_only=True)

    class Meta:
        model = Proposal
        fields = [
            "id",
            "area",
            "area_name",
            "from_level",
            "to_level",
            "proposed_on",
            "clean_days",
            "reason",
            "state",
            "decided_at",
        ]


class ProposalViewSet(viewsets.ReadOnlyModelViewSet):
    """Downgrade proposals of the caller's subtree (`?all=1` adds decided ones); HQ decides."""

    serializer_class = ProposalSerializer
    queryset = Proposal.objects.none()

    def get_queryset(self):
        return selectors.proposal_list(
            actor=self.request.user, pending_only=self.request.query_params.get("all") != "1"
        )

    def get_object(self):
        return selectors.access_proposal(self.request.user, self.kwargs["pk"])

    def _decide(self, approve: bool):
        proposal = self.get_object()
        services.proposal_decide(actor=self.request.user, proposal=proposal, approve=approve)
        return Response(ProposalSerializer(proposal).data)

    @extend_schema(request=None, responses={200: ProposalSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(True)

    @extend_schema(request=None, responses={200: ProposalSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(False)


# --- daily reports and bulletins -------------------------------------------------------------


class DailyReportSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="jurisdiction.code", read_only=True)
    node_name = serializers.CharField(source="jurisdiction.name", read_only=True)
    signed_by = serializers.CharField(source="signed_by.username", read_only=True, default=None)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = DailyReport
        fields = [
            "id",
            "node",
            "node_name",
            "level",
            "day",
            "state",
            "figures",
            "rollup",
            "entries",
            "due_at",
            "signed_at",
            "signed_by",
            "signer",
            "late",
            "overdue",
        ]

    def get_overdue(self, obj) -> bool:
        return bool(getattr(obj, "overdue", 0))


class ReportEntriesSerializer(serializers.Serializer):
    entries = serializers.DictField(child=serializers.CharField(allow_blank=True))


class DailyReportViewSet(viewsets.ReadOnlyModelViewSet):
    """Daily reports (三级登记报告) of the caller's subtree; `?day=YYYY-MM-DD`, `?level=`."""

    serializer_class = DailyReportSerializer
    queryset = DailyReport.objects.none()

    def get_queryset(self):
        day = self.request.query_params.get("day")
        try:
            day = dt.date.fromisoformat(day) if day else None
        except ValueError as exc:
            raise serializers.ValidationError({"day": "YYYY-MM-DD"}) from exc
        return selectors.daily_report_list(
            actor=self.request.user, day=day, level=self.request.query_params.get("level")
        )

    def get_object(self):
        return selectors.access_daily_report(self.request.user, self.kwargs["pk"])

    @extend_schema(request=ReportEntriesSerializer, responses={200: DailyReportSerializer})
    @action(detail=True, methods=["post"])
    def entries(self, request, pk=None):
        report = self.get_object()
        data = ReportEntriesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.daily_report_fill(
            actor=request.user, report=report, entries=data.validated_data["entries"]
        )
        return Response(DailyReportSerializer(report).data)

    @extend_schema(request=None, responses={200: DailyReportSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        report = self.get_object()
        report = services.daily_report_sign(actor=request.user, report=report)
        return Response(DailyReportSerializer(report).data)


class BulletinSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="jurisdiction.code", read_only=True)
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = Bulletin
        fields = [
            "id",
            "node",
            "day",
            "state",
            "title_zh",
            "body_zh",
            "title_en",
            "body_en",
            "edited",
            "approved_at",
            "published_at",
            "pdf_url",
        ]

    def get_pdf_url(self, obj) -> str | None:
        if obj.state != Bulletin.State.PUBLISHED:
            return None
        from django.urls import reverse

        return reverse("command:bulletin-pdf", args=[obj.pk])


class BulletinViewSet(viewsets.ReadOnlyModelViewSet):
    """Bulletins of the caller's subtree, and the published ones of the nodes above;
    `?published=1` for the history only. The text is anonymised at generation."""

    serializer_class = BulletinSerializer
    queryset = Bulletin.objects.none()

    def get_queryset(self):
        return selectors.bulletin_list(
            actor=self.request.user,
            published_only=self.request.query_params.get("published") == "1",
        )

    def get_object(self):
        return selectors.access_bulletin(self.request.user, self.kwargs["pk"])
