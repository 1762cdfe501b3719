from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from apps.organizations.models import ApiToken
from apps.organizations.selectors import membership_get


class OrganizationTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`; the token also fixes the organization the request acts for."""

    model = ApiToken

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        membership = membership_get(user=user, organization_id=token.organization_id)
        if membership is None:
            raise exceptions.AuthenticationFailed(_("This token's organization membership is no longer active."))
        # Set on the underlying HttpRequest so that code reading request.organization sees it.
        request._request.membership = membership
        request._request.organization = membership.organization
        # As CurrentOrganizationMiddleware does for a session (and undoes after the request).
        timezone.activate(membership.organization.zone)
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return user, token

    def authenticate_credentials(self, key):
        try:
            token = ApiToken.objects.select_related("user").get(key=key)
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if token.is_expired:
            raise exceptions.AuthenticationFailed(_("This token has expired: get a new one at /api/auth/token/."))
        return token.user, token
