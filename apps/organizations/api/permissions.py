from rest_framework.permissions import BasePermission


class IsOrganizationMember(BasePermission):
    """Authenticated and acting for an organization they belong to (the default for every API view)."""

    message = "You are not a member of an active organization."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and getattr(request, "organization", None))
