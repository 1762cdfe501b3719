from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts.models import email_normalize
from apps.organizations.api.mixins import OrganizationScopedMixin
from apps.organizations.api.serializers import ApiTokenSerializer, MemberSerializer
from apps.organizations.models import Membership
from apps.organizations.selectors import api_token_list_for_user
from apps.organizations.services import api_token_obtain, api_token_revoke


class TokenObtainApi(APIView):
    """Exchange an email and password for the token of one organization membership."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        password = serializers.CharField(trim_whitespace=False)
        organization = serializers.IntegerField(required=False)

        def validate_email(self, value):
            return email_normalize(value)

    @extend_schema(
        request=InputSerializer,
        responses={200: inline_serializer("TokenOutput", {"token": serializers.CharField(),
                                                          "organization": serializers.IntegerField(),
                                                          "expires_at": serializers.DateTimeField()})},
        auth=[],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request, username=data.validated_data["email"], password=data.validated_data["password"]
        )
        if user is None:
            # One message for every failure, so that accounts cannot be probed.
            raise serializers.ValidationError({"email": ["The email or password is not correct."]})
        token = api_token_obtain(user=user, organization_id=data.validated_data.get("organization"))
        return Response({"token": token.key, "organization": token.organization_id,
                         "expires_at": serializers.DateTimeField().to_representation(token.expires_at)},
                        status=status.HTTP_200_OK)


class ApiTokenListApi(generics.ListAPIView):
    """The caller's own API tokens, in every clinic (keys are never shown again)."""

    permission_classes = [IsAuthenticated]
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        return api_token_list_for_user(user=self.request.user)


class ApiTokenRevokeApi(generics.DestroyAPIView):
    """Revoke one of the caller's tokens; anyone else's answers 404, like a missing one."""

    permission_classes = [IsAuthenticated]
    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        return api_token_list_for_user(user=self.request.user)

    def perform_destroy(self, instance):
        api_token_revoke(token=instance)


class MemberListApi(OrganizationScopedMixin, generics.ListAPIView):
    """The staff of the caller's organization."""

    queryset = Membership.objects.select_related("user").order_by("user__email")
    serializer_class = MemberSerializer


class MemberDetailApi(OrganizationScopedMixin, generics.RetrieveAPIView):
    queryset = Membership.objects.select_related("user")
    serializer_class = MemberSerializer
