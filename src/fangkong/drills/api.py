"""REST endpoints of drills (read-only): the drills the actor may see, each with its score card."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from . import routing, selectors
from .models import Drill


@extend_schema_field({"type": "string", "pattern": "^(live|tabletop)$"})
class ModeField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": "^(ready|running|ended)$"})
class DrillStatusField(serializers.CharField):
    pass


class _Scored(serializers.Serializer):
    """What every line of the score card ends with: whether its target was met (null: nothing
    to score yet)."""

    met = serializers.BooleanField(allow_null=True)


class _PercentScored(_Scored):
    percent = serializers.FloatField(allow_null=True)
    target_percent = serializers.FloatField()


class DrillIntervalSerializer(_Scored):
    key = serializers.CharField()
    label = serializers.CharField()
    cases = serializers.IntegerField()
    median_hours = serializers.FloatField(allow_null=True)
    target_hours = serializers.FloatField(allow_null=True)


class DrillContactsScoreSerializer(_Scored):
    total = serializers.IntegerField()
    controlled = serializers.IntegerField()
    not_controlled = serializers.IntegerField()
    late = serializers.IntegerField()
    median_hours = serializers.FloatField(allow_null=True)
    target_hours = serializers.FloatField()


class DrillRoundScoreSerializer(_Scored):
    code = serializers.CharField()
    name = serializers.CharField()
    expected = serializers.IntegerField()
    sampled = serializers.IntegerField()
    coverage = serializers.FloatField()
    hours = serializers.FloatField(allow_null=True)
    target_hours = serializers.FloatField()
    met = serializers.BooleanField()  # a round is always scored


class DrillRoomsScoreSerializer(_PercentScored):
    centralized_orders = serializers.IntegerField()
    with_room = serializers.IntegerField()


class DrillTasksScoreSerializer(_PercentScored):
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    on_time = serializers.IntegerField()
    overdue = serializers.IntegerField()


class DrillScorecardSerializer(serializers.Serializer):
    speed = serializers.IntegerField()
    simulated_hours = serializers.FloatField()
    computed_at = serializers.DateTimeField()
    intervals = DrillIntervalSerializer(many=True)
    contacts = DrillContactsScoreSerializer()
    rounds = DrillRoundScoreSerializer(many=True)
    rooms = DrillRoomsScoreSerializer()
    tasks = DrillTasksScoreSerializer()
    problems = serializers.ListField(child=serializers.CharField())
    targets_met = serializers.IntegerField()
    targets_scored = serializers.IntegerField()


class DrillInjectSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    at_hours = serializers.FloatField()
    released_at = serializers.DateTimeField(allow_null=True)
    case_code = serializers.CharField()


class DrillSerializer(serializers.ModelSerializer):
    mode = ModeField()
    status = DrillStatusField()
    jurisdiction = serializers.CharField(source="jurisdiction.code")
    scorecard = DrillScorecardSerializer(allow_null=True)
    injects = serializers.SerializerMethodField()

    class Meta:
        model = Drill
        fields = [
            "id",
            "name",
            "mode",
            "status",
            "jurisdiction",
            "speed",
            "population",
            "seed",
            "created_at",
            "started_at",
            "ended_at",
            "injects",
            "scorecard",
        ]
        read_only_fields = fields

    @extend_schema_field(DrillInjectSerializer(many=True))
    def get_injects(self, drill):
        return DrillInjectSerializer(drill.injects.all(), many=True).data


class DrillViewSet(viewsets.ReadOnlyModelViewSet):
    """Drills of the actor's area and those they take part in."""

    serializer_class = DrillSerializer
    queryset = Drill.objects.none()

    def get_queryset(self):
        with routing.live():
            return selectors.drill_list(actor=self.request.user).order_by("-created_at", "-id")

    def get_object(self):
        return selectors.access_drill(self.request.user, self.kwargs["pk"])
