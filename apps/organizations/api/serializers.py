from rest_framework import serializers

from apps.organizations.models import ApiToken, Membership


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "is_active"]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as its owner sees it in the list: never the key itself."""

    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "organization", "organization_name", "created_at", "last_used_at", "expires_at"]
        read_only_fields = fields
