"""REST endpoints of mass testing: rounds, sites, labs, the scanner, lab results, worklists, coverage."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from fangkong.common import errors
from fangkong.common.api import ImportJobDetailSerializer, import_job_data
from fangkong.common.fields import DateTimeField, plain_strings
from fangkong.common.keyset import KeysetPagination
from fangkong.common.scope import path_within
from fangkong.geo.models import Jurisdiction
from fangkong.people.privacy import masked
from fangkong.people.selectors import access_person

from . import roles, selectors, services, uploads
from .models import Box, Lab, Recheck, Result, Round, Site, TestOrder, Tube


class RoundSerializer(serializers.ModelSerializer):
    scope = serializers.SerializerMethodField()

    class Meta:
        model = Round
        fields = [
            "id",
            "code",
            "name",
            "status",
            "scope",
            "pool_size",
            "pooling",
            "target",
            "starts_at",
            "ends_at",
            "warning_hours",
            "breach_hours",
            "created_at",
        ]

    def get_scope(self, obj) -> list[str]:
        return [node.jurisdiction.code for node in obj.scope_nodes.all()]


class RoundCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    scope = serializers.ListField(child=serializers.CharField(), min_length=1)
    pool_size = serializers.IntegerField(min_value=1, max_value=20, default=10)
    starts_at = DateTimeField(required=False, allow_null=True)
    ends_at = DateTimeField(required=False, allow_null=True)


class PersonStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    document_number = serializers.CharField()
    grid_code = serializers.CharField()
    address = serializers.CharField()


class UntestedSerializer(PersonStatusSerializer):
    home_visit = serializers.BooleanField(
        help_text="exempt from the sampling points: sampled at home"
    )


class MissedSerializer(PersonStatusSerializer):
    missed = serializers.IntegerField(help_text="rounds covering the person without a sample")


class ThroughputSerializer(serializers.Serializer):
    site = serializers.CharField()
    name = serializers.CharField()
    hour = DateTimeField()
    tubes = serializers.IntegerField()
    swabs = serializers.IntegerField()


class ProgressCountsSerializer(serializers.Serializer):
    expected = serializers.IntegerField()
    sampled = serializers.IntegerField()
    resulted = serializers.IntegerField()
    negative = serializers.IntegerField()
    recheck = serializers.IntegerField()
    positive = serializers.IntegerField()
    resample = serializers.IntegerField()
    coverage = serializers.FloatField(allow_null=True, help_text="sampled per 100 expected")


class ProgressChildSerializer(ProgressCountsSerializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ProgressSerializer(serializers.Serializer):
    node = serializers.CharField(allow_null=True)
    refreshed_at = DateTimeField(allow_null=True)
    total = ProgressCountsSerializer()
    children = ProgressChildSerializer(many=True)


class FindingRowSerializer(PersonStatusSerializer):
    tube = serializers.CharField()
    at = DateTimeField()


class ControlRowSerializer(PersonStatusSerializer):
    tube = serializers.CharField()
    since = DateTimeField()


class PositivesSerializer(serializers.Serializer):
    findings = FindingRowSerializer(many=True)
    controls = ControlRowSerializer(many=True)


class TurnaroundRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="site, lab or round code")
    tubes = serializers.IntegerField()
    mean_hours = serializers.FloatField()


class TurnaroundSerializer(serializers.Serializer):
    site = TurnaroundRowSerializer(many=True)
    lab = TurnaroundRowSerializer(many=True)
    round = TurnaroundRowSerializer(many=True)


class OverdueTubeSerializer(serializers.Serializer):
    barcode = serializers.CharField()
    site = serializers.CharField()
    sampled_at = DateTimeField()
    level = serializers.CharField(help_text="warning or breach")
    hours = serializers.FloatField()
    status = serializers.CharField()


def _person(person) -> dict:
    return {
        "id": person.pk,
        "name": person.name,
        "document_number": masked(person)["document_number"],
        "grid_code": person.grid.code,
        "address": person.address,
    }


class RoundViewSet(viewsets.ReadOnlyModelViewSet):
    """Rounds whose scope overlaps the caller's subtree; progress, coverage and the lists of a round."""

    serializer_class = RoundSerializer
    queryset = Round.objects.none()
    lookup_field = "code"

    def get_queryset(self):
        return selectors.round_list(actor=self.request.user).prefetch_related(
            "scope_nodes__jurisdiction"
        )

    def get_object(self):
        return selectors.access_round(self.request.user, self.kwargs["code"])

    @extend_schema(request=RoundCreateSerializer, responses={201: RoundSerializer})
    def create(self, request):
        data = RoundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        nodes = []
        for code in data.validated_data["scope"]:
            node = Jurisdiction.objects.filter(code=code).first()
            if node is None or not path_within(request.user, node.path):
                raise serializers.ValidationError({"scope": [f"{code}: not in your subtree"]})
            nodes.append(node)
        fields = {k: v for k, v in data.validated_data.items() if k != "scope"}
        round_ = services.round_create(actor=request.user, scope=nodes, **fields)
        return Response(RoundSerializer(round_).data, status=201)

    @extend_schema(responses=ProgressSerializer)
    @action(detail=True)
    def progress(self, request, code=None):
        """Expected, sampled, resulted and positive people for the caller's node and its children."""
        data = selectors.round_progress(actor=request.user, round_=self.get_object())
        return Response(
            {
                "node": data["node"].code if data["node"] else None,
                "refreshed_at": data["refreshed_at"],
                "total": data["total"],
                "children": [
                    {
                        **{k: v for k, v in row.items() if k != "node"},
                        "code": row["node"].code,
                        "name": row["node"].name,
                    }
                    for row in data["children"]
                ],
            }
        )

    @extend_schema(responses=UntestedSerializer(many=True))
    @action(detail=True)
    def untested(self, request, code=None):
        """People of the caller's subtree not yet sampled in this round (the grid worker's list);
        `home_visit` marks those a home-visit team samples (bedridden and other exemptions)."""
        people = selectors.untested_list(actor=request.user, round_=self.get_object())
        page = self.paginate_queryset(people)
        return self.get_paginated_response(
            [{**_person(p), "home_visit": p.home_visit} for p in page]
        )

    @extend_schema(responses=MissedSerializer(many=True))
    @action(detail=True)
    def missed(self, request, code=None):
        """People of the caller's subtree missed in this round and in earlier ones: `missed`
        counts the rounds (this one and up to four before) that covered them without a sample."""
        round_ = self.get_object()
        page = self.paginate_queryset(selectors.untested_list(actor=request.user, round_=round_))
        before = selectors.missed_before(actor=request.user, round_=round_, people=list(page))
        return self.get_paginated_response(
            [{**_person(p), "missed": 1 + before[p.pk]} for p in page]
        )

    @extend_schema(responses=ThroughputSerializer(many=True))
    @action(detail=True)
    def throughput(self, request, code=None):
        """Swabs per sampling site per hour (tubes closed in that hour), within the caller's subtree."""
        round_ = self.get_object()
        site = request.query_params.get("site")
        site = selectors.access_site(request.user, site) if site else None
        rows = selectors.site_throughput(actor=request.user, round_=round_, site=site)
        return Response(ThroughputSerializer(rows, many=True).data)

    @extend_schema(responses=PositivesSerializer)
    @action(detail=True)
    def positives(self, request, code=None):
        """Positive findings and people under temporary control, within the caller's subtree."""
        round_ = self.get_object()
        return Response(
            {
                "findings": [
                    {**_person(f.person), "tube": f.tube.barcode, "at": f.at}
                    for f in selectors.finding_list(actor=request.user, round_=round_)[:1000]
                ],
                "controls": [
                    {**_person(c.person), "tube": c.tube.barcode, "since": c.since}
                    for c in selectors.control_list(actor=request.user, round_=round_)[:5000]
                ],
            }
        )

    @extend_schema(responses=TurnaroundSerializer)
    @action(detail=True)
    def turnaround(self, request, code=None):
        """Mean hours from sampling to report, per site, per lab and for the round."""
        round_ = self.get_object()
        return Response(
            {
                by: selectors.turnaround(actor=request.user, round_=round_, by=by)
                for by in ("site", "lab", "round")
            }
        )

    @extend_schema(responses=OverdueTubeSerializer(many=True))
    @action(detail=True)
    def overdue(self, request, code=None):
        """Tubes without a result past the warning (default 6 h) or breach (12 h) threshold."""
        round_ = self.get_object()
        page = self.paginate_queryset(selectors.overdue_tubes(actor=request.user, round_=round_))
        now = timezone.now()
        return self.get_paginated_response(
            [
                {
                    "barcode": t.barcode,
                    "site": t.site.code,
                    "sampled_at": t.sampled_at,
                    "level": t.level,
                    "hours": round((now - t.sampled_at).total_seconds() / 3600, 1),
                    "status": t.status,
                }
                for t in page
            ]
        )

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={201: ImportJobDetailSerializer, 202: ImportJobDetailSerializer},
    )
    @action(
        detail=True, methods=["post"], url_path="import-samples", parser_classes=[MultiPartParser]
    )
    def import_samples(self, request, code=None):
        """A sample file `tube_barcode,id_number,sampled_at,site_code[,kind]`; bad rows come back with lines."""
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["required"]})
        job = uploads.samples_submit(actor=request.user, round_=self.get_object(), upload=upload)
        return _import_answer(request, job)


def _import_answer(request, job) -> Response:
    """201 with the finished job, or 202 with the queued one (poll its url)."""
    code = 202 if job.status == job.Status.QUEUED else 201
    return Response(import_job_data(actor=request.user, job=job, request=request), status=code)


class SiteSerializer(serializers.ModelSerializer):
    jurisdiction = serializers.SlugRelatedField(
        slug_field="code", queryset=Jurisdiction.objects.all()
    )

    class Meta:
        model = Site
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "jurisdiction",
            "address",
            "latitude",
            "longitude",
            "opening_hours",
            "desks",
            "samplers",
        ]


class SiteViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Sampling sites and home-visit teams within the caller's subtree."""

    serializer_class = SiteSerializer
    queryset = Site.objects.none()
    lookup_field = "code"

    def get_queryset(self):
        return selectors.site_list(actor=self.request.user)

    def get_object(self):
        return selectors.access_site(self.request.user, self.kwargs["code"])

    def create(self, request, *args, **kwargs):
        data = SiteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not path_within(request.user, data.validated_data["jurisdiction"].path):
            raise serializers.ValidationError({"jurisdiction": ["not in your subtree"]})
        site = services.site_create(actor=request.user, **data.validated_data)
        return Response(SiteSerializer(site).data, status=201)


class LabSerializer(serializers.ModelSerializer):
    jurisdiction = serializers.SlugRelatedField(
        slug_field="code", queryset=Jurisdiction.objects.all()
    )

    class Meta:
        model = Lab
        fields = ["id", "code", "name", "jurisdiction", "daily_capacity"]


class LabViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Labs and their daily capacity within the caller's subtree."""

    serializer_class = LabSerializer
    queryset = Lab.objects.none()
    lookup_field = "code"

    def get_queryset(self):
        return selectors.lab_list(actor=self.request.user)

    def get_object(self):
        return selectors.access_lab(self.request.user, self.kwargs["code"])

    def create(self, request, *args, **kwargs):
        data = LabSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not path_within(request.user, data.validated_data["jurisdiction"].path):
            raise serializers.ValidationError({"jurisdiction": ["not in your subtree"]})
        lab = services.lab_create(actor=request.user, **data.validated_data)
        return Response(LabSerializer(lab).data, status=201)


class TubeSerializer(serializers.ModelSerializer):
    round = serializers.CharField(source="round.code")
    site = serializers.CharField(source="site.code")
    lab = serializers.CharField(source="lab.code", default=None)

    class Meta:
        model = Tube
        fields = [
            "barcode",
            "round",
            "site",
            "kind",
            "subject",
            "subject_label",
            "capacity",
            "members",
            "status",
            "result",
            "ct_orf1ab",
            "ct_n",
            "lab",
            "opened_at",
            "sampled_at",
            "boxed_at",
            "handed_over_at",
            "received_at",
            "tested_at",
            "reported_at",
        ]


def _tube_data(tube) -> dict:
    """TubeSerializer(tube).data without building a ModelSerializer's fields on every scan."""
    global _TUBE_SERIALIZER
    if _TUBE_SERIALIZER is None:
        _TUBE_SERIALIZER = TubeSerializer()  # its fields are built once, then only read
    return _TUBE_SERIALIZER.to_representation(tube)


_TUBE_SERIALIZER: TubeSerializer | None = None


class ScanSerializer(serializers.Serializer):
    round = serializers.CharField(help_text="round code")
    site = serializers.CharField(help_text="site code")
    barcode = serializers.CharField(max_length=40)
    code = serializers.CharField(
        required=False, allow_blank=True, help_text="ID number or health-code payload"
    )
    kind = serializers.ChoiceField(choices=Tube.Kind.choices, default=Tube.Kind.POOL)
    subject = serializers.ChoiceField(choices=Tube.Subject.choices, default=Tube.Subject.PERSON)
    subject_label = serializers.CharField(required=False, allow_blank=True, default="")
    capacity = serializers.IntegerField(required=False, min_value=1, max_value=20)
    confirm = serializers.BooleanField(
        default=False,
        help_text="the desk confirms a warning (409 monitored_in_pool: a person under home "
        "health monitoring into a community pool); isolated_in_pool is refused regardless",
    )


# name: (max_length, required), as ScanSerializer has them.
_PLAIN_SCAN_FIELDS = {
    "round": (None, True),
    "site": (None, True),
    "barcode": (40, True),
    "code": (None, False),
}


def _plain_scan(data) -> dict | None:
    """ScanSerializer's validated data for the desks' usual body, a JSON object of round, site,
    barcode and code as plain ASCII strings that ScanSerializer accepts as they are (trimmed, not
    blank, barcode at most 40 characters; code may be blank); None for anything else, which
    ScanSerializer itself then validates (with its messages). Building and running the
    serializer cost ~0.25 ms of the worker's ~1.8 ms of CPU on every scan."""
    if type(data) is not dict or not data.keys() <= _PLAIN_SCAN_FIELDS.keys():
        return None
    values = plain_strings(data, _PLAIN_SCAN_FIELDS)
    if values is None:
        return None
    return {
        "kind": Tube.Kind.POOL,
        "subject": Tube.Subject.PERSON,
        "subject_label": "",
        "confirm": False,
        **values,
    }


class ScanResultSerializer(serializers.Serializer):
    tube = TubeSerializer()
    tube_created = serializers.BooleanField()
    added = serializers.BooleanField()
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="stable codes of the warnings the desk confirmed (monitored_in_pool)",
    )


class ResultSerializer(serializers.Serializer):
    tube_barcode = serializers.CharField()
    result = serializers.ChoiceField(choices=Result.choices)
    lab_code = serializers.CharField()
    reported_at = DateTimeField(required=False)
    ct_orf1ab = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True
    )
    ct_n = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)


class ResultOutcomeSerializer(serializers.Serializer):
    tube_barcode = serializers.CharField()
    changed = serializers.BooleanField(required=False, help_text="present when recorded")
    error = serializers.CharField(required=False, help_text="present when refused")


class LabScanSerializer(serializers.Serializer):
    lab = serializers.CharField(help_text="lab code")


class TubeViewSet(viewsets.ReadOnlyModelViewSet):
    """Tubes sampled in the caller's subtree (or received by its labs); the scanner and lab endpoints."""

    serializer_class = TubeSerializer
    queryset = Tube.objects.none()
    pagination_class = KeysetPagination
    lookup_field = "barcode"

    def get_queryset(self):
        round_code = self.request.query_params.get("round")
        round_ = selectors.access_round(self.request.user, round_code) if round_code else None
        return selectors.tube_list(
            actor=self.request.user, round_=round_, status=self.request.query_params.get("status")
        )

    def get_object(self):
        return selectors.access_tube(self.request.user, self.kwargs["barcode"])

    @extend_schema(
        request=ScanSerializer, responses={200: ScanResultSerializer, 201: ScanResultSerializer}
    )
    @action(detail=False, methods=["post"])
    def scan(self, request):
        """Register a tube and add one swab; sending the same scan again returns 200 and changes nothing."""
        v = _plain_scan(request.data)
        if v is None:
            data = ScanSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            v = data.validated_data
        result = services.desk_scan(
            actor=request.user,
            round_code=v["round"],
            site_code=v["site"],
            barcode=v["barcode"],
            code=v.get("code", ""),
            kind=v["kind"],
            subject=v["subject"],
            subject_label=v["subject_label"],
            capacity=v.get("capacity"),
            confirm=v["confirm"],
        )
        body = {
            "tube": _tube_data(result.tube),
            "tube_created": result.tube_created,
            "added": result.added,
            "warnings": list(result.warnings),
        }
        return Response(body, status=201 if result.added else 200)

    @extend_schema(request=None, responses=TubeSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, barcode=None):
        """Close the tube: no more swabs; its people may be sampled in another tube."""
        tube = services.tube_close(actor=request.user, tube=self.get_object())
        return Response(TubeSerializer(tube).data)

    @extend_schema(request=LabScanSerializer, responses=TubeSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, barcode=None):
        """The lab scans the tube on arrival; scanning again changes nothing."""
        data = LabScanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lab = selectors.access_lab(request.user, data.validated_data["lab"])
        tube = services.tube_receive(actor=request.user, tube=self.get_object(), lab=lab)
        return Response(TubeSerializer(tube).data)


class ResultViewSet(viewsets.GenericViewSet):
    """Results from lab systems: a JSON list, or a CSV file `tube_barcode,result,reported_at,lab_code[,ct_orf1ab,ct_n]`."""

    serializer_class = ResultSerializer
    queryset = Tube.objects.none()

    @extend_schema(
        request=ResultSerializer(many=True),
        description="One outcome per result, in order: 200 when all were recorded, 409 when "
        "the only one was refused, 207 when some of several were.",
        responses={
            200: ResultOutcomeSerializer(many=True),
            207: ResultOutcomeSerializer(many=True),
            409: ResultOutcomeSerializer(many=True),
        },
    )
    def create(self, request):
        items = request.data if isinstance(request.data, list) else [request.data]
        data = ResultSerializer(data=items, many=True)
        data.is_valid(raise_exception=True)
        outcomes = []
        for item in data.validated_data:
            try:
                tube = selectors.access_tube(request.user, item["tube_barcode"])
                lab = selectors.access_lab(request.user, item["lab_code"])
                done = services.result_record(
                    actor=request.user,
                    tube=tube,
                    result=item["result"],
                    lab=lab,
                    reported_at=item.get("reported_at"),
                    ct_orf1ab=item.get("ct_orf1ab"),
                    ct_n=item.get("ct_n"),
                )
                outcomes.append({"tube_barcode": tube.barcode, "changed": done["changed"]})
            except Http404:
                outcomes.append(
                    {"tube_barcode": item["tube_barcode"], "error": "no such tube or lab"}
                )
            except services.TestingError as exc:
                outcomes.append({"tube_barcode": item["tube_barcode"], "error": str(exc)})
        failed = any("error" in o for o in outcomes)
        return Response(
            outcomes, status=207 if failed and len(outcomes) > 1 else (409 if failed else 200)
        )

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={201: ImportJobDetailSerializer, 202: ImportJobDetailSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_file(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": ["required"]})
        job = uploads.results_submit(actor=request.user, upload=upload)
        return _import_answer(request, job)


class BoxSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    lab = serializers.CharField(source="lab.code", default=None)
    tubes = serializers.SerializerMethodField()

    class Meta:
        model = Box
        fields = ["code", "site", "lab", "tubes", "created_at", "handed_over_at", "received_at"]

    def get_tubes(self, obj) -> int:
        count = getattr(obj, "tube_count", None)
        return obj.tubes.count() if count is None else count


class BoxCreateSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    site = serializers.CharField(help_text="site code")
    lab = serializers.CharField(required=False, allow_blank=True, help_text="lab code")
    tubes = serializers.ListField(child=serializers.CharField(), default=list)


class BoxTubesSerializer(serializers.Serializer):
    tubes = serializers.ListField(child=serializers.CharField(), min_length=1)


class HandOverSerializer(serializers.Serializer):
    lab = serializers.CharField(required=False, allow_blank=True, help_text="lab code")


class BoxViewSet(viewsets.ReadOnlyModelViewSet):
    """Transport boxes: packed and handed over at the site, scanned in at the lab."""

    serializer_class = BoxSerializer
    queryset = Box.objects.none()
    lookup_field = "code"

    def get_queryset(self):
        return selectors.box_list(actor=self.request.user)

    def get_object(self):
        return selectors.access_box(self.request.user, self.kwargs["code"])

    def _tubes(self, barcodes):
        return [selectors.access_tube(self.request.user, b) for b in barcodes]

    @extend_schema(request=BoxCreateSerializer, responses={201: BoxSerializer})
    def create(self, request):
        data = BoxCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        site = selectors.access_site(request.user, v["site"])
        lab = Lab.objects.filter(code=v["lab"]).first() if v.get("lab") else None
        tubes = self._tubes(v["tubes"])
        box = services.box_create(actor=request.user, code=v["code"], site=site, lab=lab)
        if tubes:
            services.box_add_tubes(actor=request.user, box=box, tubes=tubes)
        return Response(BoxSerializer(box).data, status=201)

    @extend_schema(request=BoxTubesSerializer, responses=BoxSerializer)
    @action(detail=True, methods=["post"])
    def tubes(self, request, code=None):
        """Put closed tubes into the box."""
        data = BoxTubesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        box = self.get_object()
        services.box_add_tubes(
            actor=request.user, box=box, tubes=self._tubes(data.validated_data["tubes"])
        )
        return Response(BoxSerializer(box).data)

    @extend_schema(request=HandOverSerializer, responses=BoxSerializer)
    @action(detail=True, methods=["post"], url_path="hand-over")
    def hand_over(self, request, code=None):
        """Hand the box to the courier: its tubes are in transit from now."""
        data = HandOverSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lab_code = data.validated_data.get("lab")
        lab = Lab.objects.filter(code=lab_code).first() if lab_code else None
        box = services.box_hand_over(actor=request.user, box=self.get_object(), lab=lab)
        return Response(BoxSerializer(box).data)

    @extend_schema(request=LabScanSerializer, responses=BoxSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, code=None):
        """The lab scans the box on arrival: every tube in it is received; again changes nothing."""
        data = LabScanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lab = selectors.access_lab(request.user, data.validated_data["lab"])
        box = self.get_object()
        services.box_receive(actor=request.user, box=box, lab=lab)
        return Response(BoxSerializer(box).data)


class RecheckSerializer(serializers.ModelSerializer):
    person = serializers.SerializerMethodField()
    round = serializers.CharField(source="round.code")
    source_tube = serializers.CharField(source="source_tube.barcode")

    class Meta:
        model = Recheck
        fields = [
            "id",
            "round",
            "person",
            "source_tube",
            "reason",
            "status",
            "result",
            "created_at",
        ]

    def get_person(self, obj) -> dict:
        return _person(obj.person)


class RecheckViewSet(viewsets.ReadOnlyModelViewSet):
    """The single-tube re-check worklist of the caller's subtree (home-visit teams)."""

    serializer_class = RecheckSerializer
    queryset = Recheck.objects.none()

    def get_queryset(self):
        params = self.request.query_params
        round_ = (
            selectors.access_round(self.request.user, params["round"])
            if params.get("round")
            else None
        )
        return selectors.recheck_list(
            actor=self.request.user, round_=round_, status=params.get("status")
        )

    def get_object(self):
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (ValueError, Recheck.DoesNotExist):
            raise Http404 from None


class TestOrderSerializer(serializers.ModelSerializer):
    person = serializers.SerializerMethodField()

    class Meta:
        model = TestOrder
        fields = ["id", "person", "reason", "source", "due_by", "status", "created_at"]

    def get_person(self, obj) -> dict:
        return _person(obj.person)


class TestOrderCreateSerializer(serializers.Serializer):
    person = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    reason = serializers.ChoiceField(choices=TestOrder.Reason.choices)
    due_by = DateTimeField(required=False)


class TestOrderViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """People due a test in the caller's subtree (not swabbed since the order), soonest first:
    samplers and the grid work this list; HQ, tracing and the grid place orders."""

    serializer_class = TestOrderSerializer
    queryset = TestOrder.objects.none()

    def get_queryset(self):
        return selectors.test_orders_due(actor=self.request.user)

    def get_object(self):
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (ValueError, OverflowError, TestOrder.DoesNotExist):
            raise Http404 from None

    @extend_schema(
        request=TestOrderCreateSerializer,
        responses={201: TestOrderSerializer, 200: TestOrderSerializer},
        description="201: placed; 200: the person had an open order already (its deadline "
        "moved earlier when this one is sooner).",
    )
    def create(self, request, *args, **kwargs):
        data = TestOrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if not roles.can_order_tests(request.user):  # the role before the lookup
            raise errors.Forbidden()
        person = access_person(request.user, v["person"])
        order, placed = services.test_order_place(
            actor=request.user, person=person, reason=v["reason"], due_by=v.get("due_by")
        )
        return Response(TestOrderSerializer(order).data, status=201 if placed else 200)
