from django.db import transaction
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.organizations.models import (
    ApiToken,
    Membership,
    Organization,
    Role,
    _generate_token_key,
    token_expiry,
)
from apps.organizations.selectors import membership_get, membership_list_for_user


@transaction.atomic
def organization_create(*, name: str, slug: str, time_zone: str = "America/Bogota",
                        default_phone_region: str = "CO", address: str = "") -> Organization:
    organization = Organization(
        name=name, slug=slug, time_zone=time_zone, default_phone_region=default_phone_region, address=address
    )
    organization.full_clean()
    organization.save()
    return organization


def membership_set(*, user, organization: Organization, role: Role) -> Membership:
    """Give `user` exactly `role` in `organization` (idempotent)."""
    membership, _created = Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": role, "is_active": True}
    )
    return membership


def api_token_obtain(*, user, organization_id=None) -> ApiToken:
    """The user's token for one organization; a user in several must name which."""
    memberships = list(membership_list_for_user(user=user))
    if organization_id is not None:
        membership = membership_get(user=user, organization_id=organization_id)
        if membership is None:
            raise ApplicationError(_("You are not a member of this organization."), field="organization")
    elif len(memberships) == 1:
        membership = memberships[0]
    elif not memberships:
        raise ApplicationError(_("You are not a member of an active organization."), field="email")
    else:
        raise ApplicationError(_("You belong to several organizations: name one."), field="organization")
    token, created = ApiToken.objects.get_or_create(user=user, organization=membership.organization)
    if not created and token.is_expired:
        token = api_token_renew(token=token)
    return token


def api_token_renew(*, token: ApiToken) -> ApiToken:
    """A new key and expiry for an expired token: the old key never works again."""
    token.key = _generate_token_key()
    token.expires_at = token_expiry()
    token.last_used_at = None
    token.save(update_fields=["key", "expires_at", "last_used_at", "updated_at"])
    return token


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()


def api_tokens_revoke_for_user(*, user) -> int:
    """Every token of the user (a changed password ends every API client's access, as it ends sessions)."""
    deleted, _by_model = ApiToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str, actor: Membership) -> Membership:
    if role == membership.role:
        return membership
    # Only an owner makes or unmakes owners, and a clinic never loses its last owner.
    if Role.OWNER in (role, membership.role) and actor.role != Role.OWNER:
        raise ApplicationError(_("Only an owner can give or take the owner role."), field="role")
    if membership.role == Role.OWNER:
        owners = Membership.objects.select_for_update().filter(
            organization=membership.organization, role=Role.OWNER, is_active=True
        )
        if owners.count() <= 1:
            raise ApplicationError(_("The organization must keep at least one owner."), field="role")
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    return membership


def organization_prescription_setting_set(*, organization: Organization, staff_drafts: bool) -> Organization:
    organization.staff_prescription_drafts = staff_drafts
    organization.save(update_fields=["staff_prescription_drafts", "updated_at"])
    return organization
