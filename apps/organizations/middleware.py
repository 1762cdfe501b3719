from django.utils import timezone

from apps.organizations import selectors

SESSION_KEY = "organization_id"


def membership_for_request(request):
    """The membership the session chose (or the user's first), from one read of all the user's memberships.

    The list stays on the request as `request.memberships` for the organization switcher, so a page
    reads the user's memberships once."""
    user = request.user
    request.memberships = None
    if not user.is_authenticated:
        return None
    request.memberships = memberships = list(selectors.membership_list_for_user(user=user))
    chosen = request.session.get(SESSION_KEY)
    membership = next((m for m in memberships if chosen is not None and str(m.organization_id) == str(chosen)), None)
    if membership is None and memberships:
        membership = memberships[0]
        request.session[SESSION_KEY] = membership.organization_id
    return membership


class CurrentOrganizationMiddleware:
    """Sets `request.membership` and `request.organization` from the signed-in user's chosen membership,
    and makes the clinic's time zone the current one for the request: every page, form and API answer
    then speaks the clinic's clock, not the server's TIME_ZONE.

    API requests authenticated by token set all three in the token authentication class.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = membership_for_request(request)
        request.organization = request.membership.organization if request.membership else None
        if request.organization is not None:
            timezone.activate(request.organization.zone)
        try:
            return self.get_response(request)
        finally:
            # The zone is the thread's: the next request on it starts from the server's again.
            timezone.deactivate()
