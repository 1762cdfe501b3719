"""Reads of the WhatsApp transport's own records."""

from django.db.models import QuerySet

from apps.whatsapp.models import ProcessedEvent


def rejected_events(*, organization_id: int | None = None) -> QuerySet[ProcessedEvent]:
    """Events that could not be applied and wait for `replay_rejected_events`, oldest first; one
    clinic's when `organization_id` is given. The one definition of "rejected" (the partial index
    `whatsapp_event_rejected` is built on it): the count on the dashboard, the command's list and
    the replay all read it."""
    rejected = ProcessedEvent.objects.exclude(rejected_reason="").order_by("processed_at", "pk")
    if organization_id is not None:
        rejected = rejected.filter(organization_id=organization_id)
    return rejected


def rejected_events_count(*, organization) -> int:
    """Events of this clinic that could not be applied and wait for `replay_rejected_events`."""
    return rejected_events(organization_id=organization.pk).order_by().count()
