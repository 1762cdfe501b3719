from apps.organizations import selectors

SESSION_KEY = "organization_id"


def membership_for_request(request):
    user = request.user
    if not user.is_authenticated:
        return None
    membership = selectors.membership_get(user=user, organization_id=request.session.get(SESSION_KEY))
    if membership is None:
        membership = selectors.membership_list_for_user(user=user).first()
        if membership is not None:
            request.session[SESSION_KEY] = membership.organization_id
    return membership


class CurrentOrganizationMiddleware:
    """Sets `request.membership` and `request.organization` from the signed-in user's chosen membership.

    API requests authenticated by token set both again in the token authentication class.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = membership_for_request(request)
        request.organization = request.membership.organization if request.membership else None
        return self.get_response(request)
