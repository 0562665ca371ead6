"""REST endpoints of the jurisdiction tree."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from . import selectors
from .models import Jurisdiction, Level


class JurisdictionSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, read_only=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = Jurisdiction
        fields = [
            "code",
            "parent_code",
            "level",
            "level_display",
            "name",
            "name_en",
            "population",
            "depth",
        ]


class ChildCountSerializer(serializers.Serializer):
    code = serializers.CharField(source="node.code")
    level = serializers.CharField(source="node.level")
    name = serializers.CharField(source="node.name")
    declared_population = serializers.IntegerField(source="node.population", allow_null=True)
    people = serializers.IntegerField()


class JurisdictionFilterSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=Level.choices, required=False)
    parent = serializers.CharField(required=False, help_text="code of the parent node")
    q = serializers.CharField(required=False, help_text="name contains, or code starts with")


class JurisdictionViewSet(viewsets.ReadOnlyModelViewSet):
    """Nodes of the tree within the caller's subtree; a node outside it answers 404."""

    serializer_class = JurisdictionSerializer
    lookup_field = "code"
    queryset = Jurisdiction.objects.none()

    def get_queryset(self):
        filters = JurisdictionFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.jurisdiction_list(
            actor=self.request.user, filters=filters.validated_data
        ).select_related("parent")

    def get_object(self):
        return selectors.access_jurisdiction(self.request.user, self.kwargs["code"])

    @extend_schema(parameters=[JurisdictionFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=ChildCountSerializer(many=True))
    @action(detail=True)
    def children(self, request, code=None):
        """The node's children with the number of registered people under each."""
        node = self.get_object()
        rows = selectors.children_with_counts(actor=request.user, node=node)
        return Response(ChildCountSerializer(rows, many=True).data)
