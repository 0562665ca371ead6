"""Who am I, and API tokens (throttled like the login page)."""

from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from .models import User
from .roles import can_see_pii


class MeSerializer(serializers.ModelSerializer):
    jurisdiction_code = serializers.CharField(source="jurisdiction.code", default=None)
    jurisdiction_name = serializers.CharField(source="jurisdiction.name", default=None)
    role_display = serializers.CharField(source="get_role_display")
    may_see_personal_data = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "username",
            "display_name",
            "role",
            "role_display",
            "working_group",
            "jurisdiction_code",
            "jurisdiction_name",
            "may_see_personal_data",
        ]

    def get_may_see_personal_data(self, obj) -> bool:
        return can_see_pii(obj)


class MeView(APIView):
    serializer_class = MeSerializer

    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenView(ObtainAuthToken):
    """Exchange username and password for an API token; limited to a few tries a minute."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
