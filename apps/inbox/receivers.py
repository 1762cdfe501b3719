"""Every stored message brings its conversation up to date, whichever app stored it; a changed patient
moves their conversations' version (the list shows their name)."""

from __future__ import annotations


def on_message_saved(sender, *, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw:
        return
    from apps.inbox.services import conversations_record_messages

    conversations_record_messages(messages=[instance])


def on_messages_stored(sender, *, messages, **kwargs) -> None:
    from apps.inbox.services import conversations_record_messages

    conversations_record_messages(messages=messages)


def on_patient_saved(sender, *, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created or raw:
        return
    from apps.inbox.services import conversations_touch_for_patient

    conversations_touch_for_patient(organization_id=instance.organization_id, patient_id=instance.pk)


def connect() -> None:
    from django.db.models.signals import post_save

    from apps.notifications.models import Message
    from apps.notifications.signals import messages_stored
    from apps.patients.models import Patient

    post_save.connect(on_message_saved, sender=Message, dispatch_uid="inbox.conversation_of_message")
    messages_stored.connect(on_messages_stored, dispatch_uid="inbox.conversations_of_messages")
    post_save.connect(on_patient_saved, sender=Patient, dispatch_uid="inbox.conversations_of_patient")
