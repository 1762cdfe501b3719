from django.urls import path

from apps.organizations.api.views import MemberDetailApi, MemberListApi, TokenObtainApi

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="token-obtain"),
    path("members/", MemberListApi.as_view(), name="member-list"),
    path("members/<int:pk>/", MemberDetailApi.as_view(), name="member-detail"),
]
