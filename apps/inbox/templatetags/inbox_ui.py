from django import template
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext

register = template.Library()

STATE_BADGES = {"open": "success", "pending": "warning"}


def _state_label(state: str) -> str:
    if state == "open":
        return pgettext("conversation state", "Open")
    return gettext("Pending") if state == "pending" else gettext("Resolved")


@register.simple_tag
def conversation_row(c):
    """One row of the conversation list. A simple tag rather than template markup: the list holds up
    to 200 rows, and the template engine spent most of the list's time on their tags and filters."""
    state = c.effective_state
    when = (formats.date_format(timezone.localtime(c.last_message_at), "SHORT_DATETIME_FORMAT")
            if c.last_message_at else "")
    return format_html(
        '<a href="{}" class="list-group-item list-group-item-action d-flex justify-content-between'
        ' align-items-start conversation-row" data-conversation-id="{}" data-state="{}" data-unread="{}">'
        '<div class="me-2 text-truncate"><div class="fw-semibold">{}{} <span class="text-muted small">{}</span></div>'
        '<div class="small text-muted text-truncate">{}{}</div></div>'
        '<div class="text-end small text-nowrap"><div class="text-muted">{}</div>'
        '<span class="badge text-bg-{}">{}</span>{}{}</div></a>',
        reverse("conversation-detail", args=[c.pk]), c.pk, state, c.unread,
        format_html('<i class="bi bi-circle-fill text-primary small"></i> ') if c.unread else "",
        c.display_name, c.display_phone,
        format_html('<i class="bi bi-reply"></i> ') if c.last_direction == "out" else "",
        truncatechars(c.last_body, 90), when, STATE_BADGES.get(state, "secondary"), _state_label(state),
        format_html(' <span class="badge text-bg-danger unread-count">{}</span>', c.unread) if c.unread else "",
        format_html(' <div class="text-muted"><i class="bi bi-person"></i> {}</div>', c.assigned_to.get_short_name())
        if c.assigned_to_id else "",
    )
