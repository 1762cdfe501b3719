"""What staff see of an appointment's reminders, and sending one now: the plan, why then, the ledger."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.appointments.services import appointment_cancel
from apps.notifications.models import Message, MessageKind, MessageStatus, Reminder, ReminderStatus
from apps.notifications.reminders import reminders_plan_for_appointment
from apps.notifications.services import notification_settings_update
from apps.notifications.tests.conftest import local
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def panel(client, appointment):
    response = client.get(reverse("appointment-reminders", args=[appointment.pk]))
    assert response.status_code == 200
    return response.content.decode()


def monday_after(days: int) -> int:
    """Days ahead of the first Tuesday at least `days` from today (its 24 h reminder falls on Monday)."""
    from django.utils import timezone

    from apps.notifications.tests.conftest import BOGOTA

    today = timezone.now().astimezone(BOGOTA).date()
    ahead = days
    while (today + dt.timedelta(days=ahead)).weekday() != 1:
        ahead += 1
    return ahead


def test_a_reminder_held_by_quiet_hours_shows_when_it_goes_out_and_why(staff_client, organization, book):
    # 24 h before 07:00 is 07:00, inside the default quiet hours (20:00-08:00): it waits until 08:00.
    appointment = book(local(monday_after(3), 7))
    reminders_plan_for_appointment(appointment_id=appointment.pk)

    html = panel(staff_client, appointment)

    assert 'data-reminder-status="pending"' in html
    assert "horario de silencio" in html
    assert "08:00" in html
    assert 'id="reminder-send-now"' in html


def test_a_reminder_on_a_closed_day_says_so(staff_client, organization, book):
    notification_settings_update(organization=organization, data={"closed_days": [0]})  # Mondays
    appointment = book(local(monday_after(3), 10))
    reminders_plan_for_appointment(appointment_id=appointment.pk)

    html = panel(staff_client, appointment)

    assert "lunes" in html  # 24 h before falls on Monday, a closed day


def test_a_short_notice_booking_says_it_gets_no_reminder_and_why(staff_client, organization, book):
    from django.utils import timezone

    appointment = book(timezone.now() + dt.timedelta(hours=1))
    reminders_plan_for_appointment(appointment_id=appointment.pk)

    html = panel(staff_client, appointment)

    assert 'data-reminder-status="skipped"' in html
    assert "2 h" in html


def test_send_now_sends_the_planned_reminder_once_through_the_ledger(staff_client, staff_user, organization, book,
                                                                    django_capture_on_commit_callbacks):
    appointment = book(local(monday_after(3), 10))
    [planned] = reminders_plan_for_appointment(appointment_id=appointment.pk)
    url = reverse("appointment-reminder-send", args=[appointment.pk])

    first = staff_client.post(url, HTTP_HX_REQUEST="true")
    again = staff_client.post(url, HTTP_HX_REQUEST="true")

    assert 'id="reminder-sent"' in first.content.decode()
    assert "en camino" in again.content.decode()
    [message] = Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER)
    assert (message.rule, message.sent_by, message.status) == (planned.rule, staff_user, MessageStatus.QUEUED)
    planned.refresh_from_db()
    assert (planned.status, planned.message) == (ReminderStatus.DISPATCHED, message)


def test_resend_after_a_sent_reminder_adds_one_more_message(staff_client, organization, book):
    appointment = book(local(monday_after(3), 10))
    reminders_plan_for_appointment(appointment_id=appointment.pk)
    url = reverse("appointment-reminder-send", args=[appointment.pk])
    staff_client.post(url, HTTP_HX_REQUEST="true")
    Message.objects.filter(appointment=appointment).update(status=MessageStatus.FAILED, error="Sin conexión")

    html = panel(staff_client, appointment)
    assert "Reenviar recordatorio" in html and "Sin conexión" in html
    staff_client.post(url, HTTP_HX_REQUEST="true")

    rules = sorted(Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER)
                   .values_list("rule_id", flat=True), key=lambda rule: rule is None)
    # The planned one keeps its ledger row; the extra one is staff's, outside the rule's slot.
    assert len(rules) == 2 and rules[0] is not None and rules[1] is None


def test_a_patient_without_consent_cannot_be_reminded_and_the_page_says_why(staff_client, organization, book):
    patient = PatientFactory(organization=organization)
    appointment = book(local(monday_after(3), 10), who=patient)

    html = panel(staff_client, appointment)
    response = staff_client.post(reverse("appointment-reminder-send", args=[appointment.pk]), HTTP_HX_REQUEST="true")

    assert 'id="reminder-blocked"' in html
    assert 'id="reminder-error"' in response.content.decode()
    assert not Message.objects.filter(appointment=appointment).exists()


def test_a_cancelled_appointment_shows_its_dropped_reminder_and_no_send_button(staff_client, organization, book):
    appointment = book(local(monday_after(3), 10))
    reminders_plan_for_appointment(appointment_id=appointment.pk)
    appointment_cancel(appointment=appointment, source="ui")
    reminders_plan_for_appointment(appointment_id=appointment.pk)

    html = panel(staff_client, appointment)

    assert 'data-reminder-status="cancelled"' in html and 'id="reminder-send-now"' not in html


def test_the_patient_page_lists_the_reminders_of_upcoming_appointments(staff_client, organization, book, patient):
    appointment = book(local(monday_after(3), 10))
    reminders_plan_for_appointment(appointment_id=appointment.pk)

    html = staff_client.get(reverse("patient-reminders", args=[patient.pk])).content.decode()

    assert f'href="{reverse("appointment-detail", args=[appointment.pk])}"' in html
    assert 'data-reminder-status="pending"' in html


def test_another_clinic_s_appointment_reminders_are_404(staff_client, other_organization, book):
    from apps.notifications.tests.factories import AppointmentTypeFactory, ProviderFactory

    theirs = book(local(5, 10), org=other_organization, prov=ProviderFactory(organization=other_organization),
                  kind=AppointmentTypeFactory(organization=other_organization),
                  who=PatientFactory(consenting=True, organization=other_organization))
    assert staff_client.get(reverse("appointment-reminders", args=[theirs.pk])).status_code == 404
    assert staff_client.post(reverse("appointment-reminder-send", args=[theirs.pk])).status_code == 404
    assert staff_client.get(reverse("patient-reminders", args=[theirs.patient_id])).status_code == 404
    assert not Reminder.objects.filter(appointment=theirs, status=ReminderStatus.DISPATCHED).exists()
