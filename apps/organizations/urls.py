from django.urls import path

from apps.organizations import views

urlpatterns = [
    path("switch/", views.organization_switch, name="organization-switch"),
    path("members/", views.member_list, name="member-list"),
    path("tokens/", views.api_token_list, name="api-token-list"),
    path("tokens/<int:pk>/revoke/", views.api_token_revoke_view, name="api-token-revoke"),
    path("settings/prescriptions/", views.organization_prescription_setting, name="organization-prescription-setting"),
    path("members/<int:pk>/role/", views.member_role_change, name="member-role-change"),
]
