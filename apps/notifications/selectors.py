from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.common.models import Weekday
from apps.notifications.defaults import DEFAULT_TEMPLATES
from apps.notifications.eligibility import WHATSAPP_DISABLED, Purpose, refusal_text, whatsapp_refusal
from apps.notifications.models import (
    Message,
    MessageKind,
    MessageStatus,
    MessageTemplate,
    Reminder,
    ReminderStatus,
    StaffAlert,
    TemplateKind,
)
from apps.organizations.scoping import scoped


def message_list(*, organization, filters: dict | None = None) -> QuerySet[Message]:
    """The clinic's messages, newest first; filters: status, kind, direction, patient, date_from, date_to."""
    filters = filters or {}
    qs = scoped(Message, organization).select_related("patient", "appointment", "reply_to", "attachment")
    for field in ("status", "kind", "direction"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    if filters.get("patient"):
        qs = qs.filter(patient_id=filters["patient"])
    zone = organization.zone
    if filters.get("date_from"):
        qs = qs.filter(created_at__gte=dt.datetime.combine(filters["date_from"], dt.time.min, tzinfo=zone))
    if filters.get("date_to"):
        qs = qs.filter(created_at__lt=dt.datetime.combine(filters["date_to"] + dt.timedelta(days=1), dt.time.min,
                                                          tzinfo=zone))
    return qs.order_by("-created_at", "-id")


def messages_for_patient(*, organization, patient) -> QuerySet[Message]:
    return message_list(organization=organization, filters={"patient": patient.pk})


def staff_alerts_open(*, organization) -> QuerySet[StaffAlert]:
    return (scoped(StaffAlert, organization).filter(handled_at__isnull=True)
            .select_related("patient", "appointment").order_by("-created_at"))


def template_rows(*, organization) -> list[dict]:
    """Every kind × language with the text in force and whether the clinic wrote its own."""
    own = {(t.kind, t.language): t for t in scoped(MessageTemplate, organization)}
    rows = []
    for kind in TemplateKind:
        for language, language_name in settings.LANGUAGES:
            template = own.get((kind.value, language))
            default = DEFAULT_TEMPLATES.get(language, DEFAULT_TEMPLATES["es"])[kind]
            rows.append({"kind": kind.value, "kind_label": kind.label, "language": language,
                         "language_name": language_name, "body": template.body if template else default,
                         "is_custom": template is not None,
                         "meta_template_name": template.meta_template_name if template else "",
                         "meta_language": template.meta_language if template else "",
                         "meta_parameters": template.meta_parameters if template else "",
                         "meta_quick_replies": template.meta_quick_replies if template else False})
    return rows


# --- what staff see of the reminder plan ------------------------------------------------------

_NOT_SENT_REASONS = {
    "short_notice": gettext_lazy(
        "Not sent: the booking was made within this rule's \"don't send within\" window of %(skip)s h."),
    "no_allowed_time_before_start": gettext_lazy(
        "Not sent: there is no time outside quiet hours and closed days before the appointment."),
    "superseded_by_later_rule": gettext_lazy(
        "Not sent: a rule with a shorter lead time reminds the patient in time."),
    "appointment_moved": gettext_lazy("Dropped: the appointment was moved; the new time has its own reminders."),
    "appointment_started": gettext_lazy("Not sent: the appointment had already started."),
    "settings_changed": gettext_lazy("Replaced after the clinic changed its reminder settings."),
    "rule_disabled": gettext_lazy("Not sent: the rule was turned off."),
    "whatsapp_disabled": gettext_lazy("Not sent: WhatsApp messages are turned off for this clinic."),
    "patient_cannot_receive_whatsapp": gettext_lazy(
        "Not sent: the patient cannot receive WhatsApp messages (no consent, no phone or STOP)."),
    "already_sent": gettext_lazy("Already in the ledger: sent once."),
    "sent_now_by_staff": gettext_lazy("Sent early by staff."),
}


def _why_then(reminder, settings, zone) -> str:
    """Why a planned reminder goes out when it does, in the words staff use."""
    from apps.notifications.schedule import in_quiet_hours

    nominal = reminder.appointment_start - dt.timedelta(hours=reminder.rule.lead_hours)
    if reminder.due_at <= nominal + dt.timedelta(minutes=1):
        return _("%(hours)s h before the appointment.") % {"hours": reminder.rule.lead_hours}
    local = nominal.astimezone(zone)
    if reminder.due_at - reminder.created_at < dt.timedelta(minutes=5) and nominal < reminder.created_at:
        return _("Booked after its time (%(hours)s h before): it goes out as soon as it is allowed.") % {
            "hours": reminder.rule.lead_hours}
    if local.weekday() in (settings.closed_days or []):
        return _("%(hours)s h before falls on %(day)s, a closed day: it waits for the next open time.") % {
            "hours": reminder.rule.lead_hours, "day": Weekday(local.weekday()).label.lower()}
    if in_quiet_hours(local.time(), settings.quiet_start, settings.quiet_end):
        return _("%(hours)s h before (%(time)s) is within quiet hours (%(start)s–%(end)s): it waits until they "
                 "end.") % {"hours": reminder.rule.lead_hours, "time": f"{local:%H:%M}",
                            "start": f"{settings.quiet_start:%H:%M}", "end": f"{settings.quiet_end:%H:%M}"}
    return _("Sent at the first time allowed by the clinic's hours.")


def _not_sent_why(reminder) -> str:
    if reminder.reason in _NOT_SENT_REASONS:
        return _NOT_SENT_REASONS[reminder.reason] % {"skip": reminder.rule.skip_within_hours}
    if reminder.reason.startswith("appointment_"):
        from apps.appointments.templatetags.appointments_ui import status_label

        return _("Dropped: the appointment is %(status)s.") % {
            "status": str(status_label(reminder.reason.removeprefix("appointment_"))).lower()}
    return ""


def reminder_rows(*, organization, appointments) -> list[dict]:
    """Every reminder planned for these appointments, with when it goes out, why then, and its message."""
    from apps.notifications.services import notification_settings_get

    appointments = list(appointments)
    settings = notification_settings_get(organization=organization)
    zone = organization.zone
    reminders = (scoped(Reminder, organization).filter(appointment__in=appointments)
                 .select_related("rule", "message", "appointment").order_by("appointment__start", "due_at", "pk"))
    rows = []
    for reminder in reminders:
        if reminder.status == ReminderStatus.CANCELLED and reminder.appointment_start != reminder.appointment.start:
            continue  # a plan for a time the appointment no longer has: history, not news
        if reminder.status == ReminderStatus.PENDING:
            why = _why_then(reminder, settings, zone)
        else:
            why = _not_sent_why(reminder)
        rows.append({"reminder": reminder, "appointment": reminder.appointment, "rule": reminder.rule,
                     "due_at": reminder.due_at, "status": reminder.status, "why": why, "message": reminder.message})
    planned = {row["message"].pk for row in rows if row["message"]}
    for message in (scoped(Message, organization).filter(appointment__in=appointments, kind=MessageKind.REMINDER)
                    .exclude(pk__in=planned).order_by("created_at")):
        # Sent by staff ("send now" with nothing planned, or "resend"): no plan row of its own.
        rows.append({"reminder": None, "appointment": message.appointment, "rule": message.rule,
                     "due_at": message.created_at, "status": ReminderStatus.DISPATCHED,
                     "why": _("Sent by staff."), "message": message})
    return rows


def reminder_send_blocked_reason(*, appointment) -> str:
    """Why staff cannot send this appointment's reminder now, or "" when they can."""
    from apps.appointments.models import AppointmentStatus
    from apps.notifications.services import notification_settings_get

    if appointment.status != AppointmentStatus.SCHEDULED or appointment.start <= timezone.now():
        return _("Only a scheduled appointment still ahead gets reminders.")
    refusal = whatsapp_refusal(settings=notification_settings_get(organization=appointment.organization),
                               patient=appointment.patient, purpose=Purpose.CLINIC)
    if refusal == WHATSAPP_DISABLED:
        return refusal_text(refusal)
    if refusal:
        return _("The patient cannot receive WhatsApp messages (no consent, no phone or STOP).")
    on_its_way = Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER,
                                        status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])
    if on_its_way.exists():
        return _("A reminder for this appointment is on its way.")
    return ""
