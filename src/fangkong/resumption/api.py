"""REST endpoints of resumption (organisations, applications and their decision, the workforce,
status per district) and readiness (reserves against targets, a task from a gap)."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from fangkong.command import roles as command_roles
from fangkong.common import errors
from fangkong.common.masking import mask_id_number, mask_phone

from . import readiness, roles, selectors, services
from .models import Application, Organisation, Worker


class OrganisationSerializer(serializers.ModelSerializer):
    node = serializers.CharField(source="jurisdiction.code")
    organisation_kind = serializers.CharField(source="kind")

    class Meta:
        model = Organisation
        fields = ["id", "code", "name", "organisation_kind", "enterprise", "node"]


class OrganisationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OrganisationSerializer
    queryset = Organisation.objects.none()

    def get_queryset(self):
        return selectors.organisation_list(actor=self.request.user).order_by("code")

    def get_object(self):
        return selectors.access_organisation(self.request.user, self.kwargs["pk"])


class ApplicationSerializer(serializers.ModelSerializer):
    organisation_name = serializers.CharField(source="organisation.name")
    application_status = serializers.CharField(source="status")
    duty_phone = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "id",
            "organisation",
            "organisation_name",
            "application_status",
            "resume_on",
            "duty_officer",
            "duty_phone",
            "staff_count",
            "nonlocal_staff",
            "canteen",
            "dormitory",
            "masks",
            "thermometers",
            "plan",
            "submitted_at",
            "decided_at",
            "reason",
        ]

    def get_duty_phone(self, obj) -> str:
        return mask_phone(obj.duty_phone)


class ApplicationSubmitSerializer(serializers.Serializer):
    organisation = serializers.IntegerField()
    resume_on = serializers.DateField()
    duty_officer = serializers.CharField(max_length=60)
    duty_phone = serializers.CharField(max_length=20)
    staff_count = serializers.IntegerField(min_value=1, max_value=1_000_000)
    nonlocal_staff = serializers.IntegerField(min_value=0, max_value=1_000_000)
    canteen = serializers.CharField(max_length=300)
    dormitory = serializers.CharField(max_length=300)
    masks = serializers.IntegerField(min_value=0, max_value=2_000_000_000)
    thermometers = serializers.IntegerField(min_value=0, max_value=2_000_000_000)
    plan = serializers.CharField(max_length=5000)


class ApplicationReturnSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True)


class ApplicationViewSet(viewsets.ReadOnlyModelViewSet):
    """Applications of the caller's subtree (an officer: of their own organisations)."""

    serializer_class = ApplicationSerializer
    queryset = Application.objects.none()

    def get_queryset(self):
        status = self.request.query_params.get("status") or None
        if status is not None and status not in Application.Status.values:
            raise errors.Invalid("unknown status", code="unknown_status")
        return selectors.application_list(actor=self.request.user, status=status).order_by(
            "-submitted_at", "-id"
        )

    def get_object(self):
        return selectors.access_application(self.request.user, self.kwargs["pk"])

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=list(Application.Status.values), required=False
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ApplicationSubmitSerializer, responses={201: ApplicationSerializer})
    def create(self, request):
        """File an application with the prevention plan (an enterprise or school officer)."""
        if not roles.can_file(request.user):
            raise PermissionDenied
        data = ApplicationSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        organisation = selectors.access_organisation(request.user, values.pop("organisation"))
        application = services.application_submit(
            actor=request.user, organisation=organisation, **values
        )
        return Response(ApplicationSerializer(application).data, status=201)

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        application = services.application_approve(
            actor=request.user, application=self.get_object()
        )
        return Response(ApplicationSerializer(application).data)

    @extend_schema(request=ApplicationReturnSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        """Back to the organisation with the reasons (required)."""
        data = ApplicationReturnSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        application = services.application_return(
            actor=request.user, application=self.get_object(), reason=data.validated_data["reason"]
        )
        return Response(ApplicationSerializer(application).data)


class WorkerSerializer(serializers.ModelSerializer):
    """ID number and phone always masked: the full ones are at people's audited reveal."""

    worker_kind = serializers.CharField(source="kind")
    document_number = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    risk_area = serializers.StringRelatedField()
    order_measure = serializers.CharField(source="order.measure", default=None)
    order_status = serializers.CharField(source="order.status", default=None)

    class Meta:
        model = Worker
        fields = [
            "id",
            "organisation",
            "worker_kind",
            "name",
            "document_number",
            "phone",
            "origin",
            "arrival_date",
            "risk_area",
            "risk_level",
            "order",
            "order_measure",
            "order_status",
            "registered_at",
        ]

    def get_document_number(self, obj) -> str:
        return mask_id_number(obj.document_number)

    def get_phone(self, obj) -> str:
        return mask_phone(obj.phone)


class WorkerCreateSerializer(serializers.Serializer):
    organisation = serializers.IntegerField()
    document_number = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=60)
    worker_kind = serializers.ChoiceField(choices=Worker.Kind.values, default=Worker.Kind.STAFF)
    phone = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    origin = serializers.CharField(max_length=200)
    arrival_date = serializers.DateField()


class WorkerViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = WorkerSerializer
    queryset = Worker.objects.none()

    def get_queryset(self):
        return selectors.worker_list(actor=self.request.user).order_by("organisation", "name", "id")

    def get_object(self):
        return selectors.access_worker(self.request.user, self.kwargs["pk"])

    @extend_schema(request=WorkerCreateSerializer, responses={201: WorkerSerializer})
    def create(self, request):
        """Register one returning worker or student; from a risk area, the policy's measure."""
        if not roles.can_file(request.user):
            raise PermissionDenied
        data = WorkerCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        organisation = selectors.access_organisation(request.user, values.pop("organisation"))
        values["kind"] = values.pop("worker_kind")
        worker = services.worker_register(actor=request.user, organisation=organisation, **values)
        return Response(
            WorkerSerializer(selectors.access_worker(request.user, worker.pk)).data, status=201
        )


class ResumptionStatusRowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    applications = serializers.IntegerField()
    approved = serializers.IntegerField()
    pending = serializers.IntegerField()
    returned = serializers.IntegerField()
    registered = serializers.IntegerField()
    back = serializers.IntegerField()
    from_risk_areas = serializers.IntegerField()
    under_control = serializers.IntegerField()


class ResumptionStatusSerializer(serializers.Serializer):
    node = serializers.CharField()
    rows = ResumptionStatusRowSerializer(many=True)


NODE_PARAM = OpenApiParameter("node", OpenApiTypes.STR, description="jurisdiction code")


class StatusViewSet(viewsets.ViewSet):
    """Per district of the node (default: the caller's): applications, approved, awaiting,
    returned; staff registered, back, from risk areas, under control."""

    @extend_schema(parameters=[NODE_PARAM], responses=ResumptionStatusSerializer)
    def list(self, request):
        if not roles.can_read(request.user) or roles.is_officer_only(request.user):
            raise PermissionDenied
        node = selectors.access_node(request.user, request.query_params.get("node"))
        board = selectors.district_status(actor=request.user, node=node)
        return Response(ResumptionStatusSerializer({"node": node.code, "rows": board["rows"]}).data)


class ReadinessLineSerializer(serializers.Serializer):
    key = serializers.CharField()
    group = serializers.CharField()
    label = serializers.CharField()
    need = serializers.FloatField()
    have = serializers.FloatField()
    short = serializers.FloatField()
    met = serializers.BooleanField()
    measure = serializers.CharField()
    basis = serializers.CharField()
    owner = serializers.CharField(source="owner_name")
    task = serializers.IntegerField(source="task.pk", default=None)


class ReadinessSerializer(serializers.Serializer):
    node = serializers.CharField(source="node.code")
    lines = ReadinessLineSerializer(many=True)


class GapDispatchSerializer(serializers.Serializer):
    node = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    key = serializers.CharField(max_length=80)


class GapDispatchedSerializer(serializers.Serializer):
    task = serializers.IntegerField(source="pk")
    title = serializers.CharField()
    assignee_path = serializers.CharField()


class ReadinessViewSet(viewsets.ViewSet):
    """Reserves against targets for a node (default: the caller's): every line with its need,
    what is held, the shortfall, its owner and any open task dispatched for it."""

    @extend_schema(parameters=[NODE_PARAM], responses=ReadinessSerializer)
    def list(self, request):
        if not roles.can_read_readiness(request.user):
            raise PermissionDenied
        node = selectors.access_node(request.user, request.query_params.get("node"))
        return Response(
            ReadinessSerializer(readiness.readiness(actor=request.user, node=node)).data
        )

    @extend_schema(request=GapDispatchSerializer, responses={201: GapDispatchedSerializer})
    @action(detail=False, methods=["post"], url_path="dispatch")
    def dispatch_task(self, request):
        """A task from a gap, to the working group that owns it, prefilled."""
        data = GapDispatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not command_roles.can_dispatch(request.user):
            raise PermissionDenied
        node = selectors.access_node(request.user, data.validated_data["node"] or None)
        try:
            task = readiness.gap_dispatch(
                actor=request.user, node=node, key=data.validated_data["key"]
            )
        except Http404 as exc:
            raise errors.NotFound() from exc
        return Response(GapDispatchedSerializer(task).data, status=201)
