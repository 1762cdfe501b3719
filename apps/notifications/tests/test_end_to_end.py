"""The whole path with the real bridge (sandbox), the real worker and PostgreSQL.

Time: appointments are days ahead; the due-reminder dispatcher is deferred with a test clock's
timestamp (the reminder's due time) instead of waiting for it.
"""

import re

import pytest
import requests
from django.urls import reverse

from apps.appointments.models import AppointmentStatus, CancelledBy, ConfirmationStatus
from apps.notifications.models import AlertKind, Message, MessageKind, MessageStatus, Reminder, StaffAlert
from apps.notifications.tasks import dispatch_due_reminders
from apps.notifications.tests.conftest import local
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.models import WhatsAppSession
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

CLINIC_PHONE = "+573009998877"


def link_by_qr(admin_client) -> None:
    """What an admin does on the linking page, including the htmx polling."""
    assert admin_client.get(reverse("whatsapp-link")).status_code == 200
    assert admin_client.post(reverse("whatsapp-link-start"), {"engine": "sandbox"}).status_code == 200

    def qr_link():
        html = admin_client.get(reverse("whatsapp-link-status")).content.decode()
        match = re.search(r'id="qr-link">([^<]+)<', html)
        return match and match.group(1)

    link = wait_until(qr_link, message="the QR on the linking page")
    assert requests.get(link, params={"phone": CLINIC_PHONE}, timeout=10).status_code == 200

    def connected():
        html = admin_client.get(reverse("whatsapp-link-status")).content.decode()
        return 'data-status="connected"' in html and CLINIC_PHONE in html

    wait_until(connected, message="the linking page to show connected")


def reminder_due(appointment) -> Reminder:
    return wait_until(lambda: Reminder.objects.filter(appointment=appointment, status="pending").first(),
                      message="the worker to plan the reminder")


def run_clock_at(moment) -> None:
    dispatch_due_reminders.defer(timestamp=int(moment.timestamp()))


def reminder_of(appointment) -> Message:
    return wait_until(lambda: Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER).first(),
                      message="the reminder message")


def test_link_remind_confirm_and_cancel_by_whatsapp(admin_client, organization, live_bridge, make_worker, book):
    link_by_qr(admin_client)
    wait_until(lambda: WhatsAppSession.objects.filter(organization=organization, status="connected").exists(),
               message="the session.status event")
    make_worker(bridge_url=live_bridge.url)

    # 1. A booking gets its reminder at the lead time; "1" confirms.
    juan = PatientFactory(consenting=True, organization=organization, first_name="Juan", phone="+573001234567")
    first = book(local(4, 10), who=juan)
    due = reminder_due(first)
    assert due.due_at <= first.start
    run_clock_at(due.due_at)
    reminder = reminder_of(first)
    wait_until(lambda: Message.objects.get(pk=reminder.pk).status == MessageStatus.READ, message="read receipt")
    first.refresh_from_db()
    assert first.confirmation == ConfirmationStatus.REQUESTED
    [received] = live_bridge.phone_inbox(organization.pk, juan.phone)
    assert received["text"].startswith("Hola, Juan. Le recordamos su cita en Óptica Norte")

    live_bridge.reply(organization.pk, juan.phone, text="1")
    wait_until(lambda: type(first).objects.get(pk=first.pk).confirmation == ConfirmationStatus.CONFIRMED,
               message="the appointment to be confirmed")
    reply = Message.objects.get(direction="in", appointment=first)
    assert (reply.kind, reply.body, reply.reply_to_id) == (MessageKind.REPLY, "1", reminder.pk)
    ack = wait_until(lambda: Message.objects.filter(reply_to=reply, status__in=["sent", "delivered", "read"]).first(),
                     message="the acknowledgement to be sent")
    assert ack.body.startswith("¡Gracias, Juan! Su cita")

    html = admin_client.get(reverse("patient-messages", args=[juan.pk])).content.decode()
    for step in ('data-step="sent"', 'data-step="delivered"', 'data-step="read"', 'data-status="received"'):
        assert step in html
    assert f'data-message="{reply.pk}"' in html

    # 2. Another appointment answered "2": cancelled by the patient, with an alert for staff.
    ana = PatientFactory(consenting=True, organization=organization, first_name="Ana", phone="+573007654321")
    second = book(local(5, 15), who=ana)
    due = reminder_due(second)
    run_clock_at(due.due_at)
    wait_until(lambda: type(second).objects.get(pk=second.pk).confirmation == ConfirmationStatus.REQUESTED,
               message="the second reminder to be sent")
    live_bridge.reply(organization.pk, ana.phone, text="2")
    wait_until(lambda: type(second).objects.get(pk=second.pk).status == AppointmentStatus.CANCELLED,
               message="the appointment to be cancelled")
    second.refresh_from_db()
    assert (second.cancelled_by, second.confirmation) == (CancelledBy.PATIENT, ConfirmationStatus.DECLINED)
    alert = StaffAlert.objects.get(kind=AlertKind.PATIENT_CANCELLED)
    assert (alert.organization, alert.appointment, alert.patient) == (organization, second, ana)
    assert "Ana" in admin_client.get(reverse("notification-settings")).content.decode()
    wait_until(lambda: any("cancelamos su cita" in m["text"] for m in live_bridge.phone_inbox(organization.pk,
                                                                                                ana.phone)),
               message="the cancellation acknowledgement on the patient's phone")


def test_on_the_sandbox_typing_1_answers_the_last_reminder_sent_to_the_number(admin_client, organization,
                                                                               live_bridge, make_worker, book):
    """The sandbox has native buttons, so a typed "1" reaches Django with no button id: the last menu rules."""
    link_by_qr(admin_client)
    make_worker(bridge_url=live_bridge.url)
    juan = PatientFactory(consenting=True, organization=organization, first_name="Juan", phone="+573001234567")
    earlier, later = book(local(4, 10), who=juan), book(local(5, 10), who=juan)
    for appointment in (earlier, later):
        run_clock_at(reminder_due(appointment).due_at)
        wait_until(lambda a=appointment: type(a).objects.get(pk=a.pk).confirmation == ConfirmationStatus.REQUESTED,
                   message="the reminder to be sent")

    live_bridge.reply(organization.pk, juan.phone, text="1")

    wait_until(lambda: type(later).objects.get(pk=later.pk).confirmation == ConfirmationStatus.CONFIRMED,
               message="the last reminder's appointment to be confirmed")
    earlier.refresh_from_db()
    assert earlier.confirmation == ConfirmationStatus.REQUESTED
    reply = Message.objects.get(direction="in", body="1")
    assert reply.reply_to == Message.objects.get(appointment=later, kind=MessageKind.REMINDER)
