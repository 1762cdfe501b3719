from apps.organizations.selectors import membership_list_for_user


def organization(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # The middleware already read them (request.memberships); a request it did not see reads them here.
    memberships = getattr(request, "memberships", None)
    return {
        "current_organization": getattr(request, "organization", None),
        "current_membership": getattr(request, "membership", None),
        "user_memberships": memberships if memberships is not None else membership_list_for_user(user=user),
    }
