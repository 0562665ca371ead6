"""The audit log over REST: read-only, for auditors."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets

from fangkong.common.fields import DateTimeField

from .models import Action, AuditEntry
from .selectors import audit_list


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "at",
            "actor_username",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "ip",
        ]


class AuditFilterSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=Action.choices, required=False)
    actor = serializers.CharField(required=False, help_text="username")
    object_type = serializers.CharField(required=False, help_text="e.g. people.person")
    object_id = serializers.CharField(required=False)
    since = DateTimeField(required=False)
    until = DateTimeField(required=False)


class AuditEntryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every write and every view of personal data within the auditor's subtree. Nobody can edit it."""

    serializer_class = AuditEntrySerializer
    queryset = AuditEntry.objects.none()

    def get_queryset(self):
        filters = AuditFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return audit_list(actor=self.request.user, filters=filters.validated_data)

    @extend_schema(parameters=[AuditFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
