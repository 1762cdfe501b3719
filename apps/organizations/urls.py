from django.urls import path

from apps.organizations import views

urlpatterns = [
    path("switch/", views.organization_switch, name="organization-switch"),
    path("members/", views.member_list, name="member-list"),
    path("settings/prescriptions/", views.organization_prescription_setting, name="organization-prescription-setting"),
    path("members/<int:pk>/role/", views.member_role_change, name="member-role-change"),
]
