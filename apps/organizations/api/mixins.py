from apps.organizations.api.permissions import IsOrganizationMember
from apps.organizations.roles import HasOrganizationRole
from apps.organizations.scoping import scoped


class OrganizationScopedMixin:
    """For DRF generic views and viewsets: the queryset is the current organization's rows only."""

    permission_classes = [IsOrganizationMember, HasOrganizationRole]
    required_roles: tuple = ()

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request.organization)
