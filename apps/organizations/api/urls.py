from django.urls import path

from apps.organizations.api.views import (
    ApiTokenListApi,
    ApiTokenRevokeApi,
    MemberDetailApi,
    MemberListApi,
    TokenObtainApi,
)

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token-obtain"),
    path("auth/tokens/", ApiTokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<int:pk>/", ApiTokenRevokeApi.as_view(), name="token-revoke"),
    path("members/", MemberListApi.as_view(), name="member-list"),
    path("members/<int:pk>/", MemberDetailApi.as_view(), name="member-detail"),
]
