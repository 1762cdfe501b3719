"""Recalls follow what happens elsewhere without those apps knowing about recalls."""

from __future__ import annotations

from django.db import transaction


def on_appointment_changed(sender, *, appointment_id: int, change: str, **kwargs) -> None:
    if change != "booked":
        return
    from apps.appointments.models import Appointment
    from apps.recalls.services import recalls_close_for_booking

    appointment = Appointment.objects.filter(pk=appointment_id).first()
    if appointment is not None:
        with transaction.atomic():
            recalls_close_for_booking(appointment=appointment)


def on_message_saved(sender, *, instance, created: bool, **kwargs) -> None:
    # The "book" button of a recall message comes back as an inbound message with its id; the
    # message itself still lands in the inbox like any other.
    if not created or instance.direction != "in" or not instance.button_id.startswith("book:"):
        return
    from apps.recalls.services import recall_booking_requested

    recall_booking_requested(organization=instance.organization, button_id=instance.button_id,
                             at=instance.received_at or instance.created_at)


def connect() -> None:
    from django.db.models.signals import post_save

    from apps.appointments.signals import appointment_changed
    from apps.notifications.models import Message

    appointment_changed.connect(on_appointment_changed, dispatch_uid="recalls.close_on_booking")
    post_save.connect(on_message_saved, sender=Message, dispatch_uid="recalls.book_button")
