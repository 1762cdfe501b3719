from apps.inbox.selectors import unread_conversation_count


def inbox(request):
    """`nav_unread_count` for the navigation badge: one query, only for signed-in members."""
    user = getattr(request, "user", None)
    organization = getattr(request, "organization", None)
    if user is None or not user.is_authenticated or organization is None:
        return {}
    return {"nav_unread_count": unread_conversation_count(organization=organization)}
