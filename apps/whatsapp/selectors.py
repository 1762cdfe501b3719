"""Reads of the WhatsApp transport's own records."""

from apps.whatsapp.models import ProcessedEvent


def rejected_events_count(*, organization) -> int:
    """Events of this clinic that could not be applied and wait for `replay_rejected_events`."""
    return ProcessedEvent.objects.filter(organization=organization).exclude(rejected_reason="").count()
