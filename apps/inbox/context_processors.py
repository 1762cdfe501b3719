from django.utils.functional import SimpleLazyObject

from apps.inbox.selectors import unread_conversation_count


def inbox(request):
    """`nav_unread_count` for the navigation badge: one query, only for signed-in members, and only when a
    template shows it. htmx fragments (a calendar section, the conversation list's refresh) render without
    the navigation, so they never count."""
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return {}
    return {"nav_unread_count": SimpleLazyObject(lambda: unread_conversation_count(organization=organization))}
