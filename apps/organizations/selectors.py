from django.db.models import QuerySet

from apps.organizations.models import ApiToken, Membership, Organization


def membership_list_for_user(*, user) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, is_active=True, organization__is_active=True)
        .select_related("organization")
        .order_by("organization__name")
    )


def membership_get(*, user, organization_id) -> Membership | None:
    if not user.is_authenticated or organization_id is None:
        return None
    return membership_list_for_user(user=user).filter(organization_id=organization_id).first()


def organization_list_for_user(*, user) -> QuerySet[Organization]:
    return Organization.objects.filter(memberships__user=user, memberships__is_active=True, is_active=True)


def api_token_list_for_user(*, user) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).select_related("organization").order_by("-created_at")
