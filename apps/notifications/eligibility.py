"""May this clinic message this patient on WhatsApp now? Decided here, once, for every sender.

`whatsapp_refusal` answers with a refusal code (or "" when it may). Each caller records or words the
code its own way (a reminder's skip reason, a failed message's error code, a refusal shown to staff)
but none decides again. It reads no rows: the caller passes the clinic's NotificationSettings.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext as _


class Purpose(StrEnum):
    # On the clinic's own initiative (reminders, appointment notices, order ready, recalls): the patient
    # must have a phone, consent, no STOP, and be active (Patient.can_receive_whatsapp).
    CLINIC = "clinic"
    # Staff write to a patient (patient page, inbox): a phone, consent and no STOP.
    STAFF = "staff"
    # A message already allowed when it was queued, or an answer to whoever wrote: only the clinic's
    # switch and the patient's STOP (unless the message confirms that STOP) still hold it back.
    ANSWER = "answer"


WHATSAPP_DISABLED = "whatsapp_disabled"
NO_PATIENT = "no_patient"
OPTED_OUT = "opted_out"
NO_PHONE = "no_phone"
NO_CONSENT = "no_consent"
INACTIVE = "inactive"


def whatsapp_refusal(*, settings, patient, purpose: Purpose, answers_stop: bool = False) -> str:
    """Why the clinic may not message `patient` (None: a number with no patient) now, or ""."""
    if not settings.whatsapp_enabled:
        return WHATSAPP_DISABLED
    if patient is None:
        return "" if purpose == Purpose.ANSWER else NO_PATIENT
    if patient.whatsapp_opted_out and not answers_stop:
        return OPTED_OUT
    if purpose == Purpose.ANSWER:
        return ""
    if not patient.phone:
        return NO_PHONE
    if not patient.whatsapp_consent:
        return NO_CONSENT
    if purpose == Purpose.CLINIC and not patient.is_active:
        return INACTIVE
    return ""


def refusal_text(code: str) -> str:
    """The refusal as staff read it (patient page, a refused send, an order's note)."""
    return {
        WHATSAPP_DISABLED: _("WhatsApp messages are turned off for this clinic."),
        NO_PATIENT: _("Unknown patient."),
        OPTED_OUT: _("This patient asked to receive no WhatsApp messages (STOP)."),
        NO_PHONE: _("This patient has no phone number."),
        NO_CONSENT: _("This patient has not consented to WhatsApp messages."),
        INACTIVE: _("This patient is inactive."),
    }.get(code, "")
