"""Who am I, and API tokens (logins throttled like the login page, tokens expire and revoke)."""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from fangkong.common.schema import ErrorSerializer

from .models import User
from .roles import can_see_pii
from .services import token_expires_at, token_obtain, token_revoke


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


class TokenLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        max_length=128, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(source="key")
    expires_at = serializers.SerializerMethodField()

    def get_expires_at(self, obj) -> datetime:
        return token_expires_at(obj)


_LOGIN_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, _("Wrong username or password (code invalid).")),
    429: OpenApiResponse(
        ErrorSerializer, _("Too many failed logins for the account or the address.")
    ),
    503: OpenApiResponse(
        ErrorSerializer, _("The failed-login counter is unavailable; logins are refused.")
    ),
}


class TokenView(APIView):
    """POST: exchange username and password for an API token (the login page's throttle and
    audit). DELETE: revoke the caller's token."""

    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)
        if request.method == "POST":
            # Logging in must work while a dead token is still in the client's header; the
            # answer is a token in the body, no session, so there is no login CSRF to stop.
            drf_request.authenticators = ()
        return drf_request

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return super().get_permissions()

    @extend_schema(
        request=TokenLoginSerializer,
        responses={200: TokenSerializer, **_LOGIN_ERRORS},
        auth=[],
        summary=_("Log in for an API token"),
        description=_(
            "The token expires after the configured hours (expires_at); logging in again "
            "extends it. Failed logins count per account and per address, shared with the "
            "login page."
        ),
    )
    def post(self, request):
        given = TokenLoginSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        token = token_obtain(
            request=request._request,
            username=given.validated_data["username"],
            password=given.validated_data["password"],
            ip=request.META.get("REMOTE_ADDR"),
        )
        return Response(TokenSerializer(token).data)

    @extend_schema(
        request=None,
        responses={
            204: OpenApiResponse(description=_("The caller's token is deleted.")),
            401: OpenApiResponse(ErrorSerializer, _("The token is unknown or expired.")),
        },
        summary=_("Revoke my API token"),
    )
    def delete(self, request):
        token_revoke(actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
