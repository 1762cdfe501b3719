"""Reading a patient's WhatsApp message: answers, STOP / START, shared phones, anything else."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.appointments.models import AppointmentStatus, ConfirmationStatus, EventSource
from apps.appointments.services import appointment_confirmation_set
from apps.common.exceptions import ApplicationError
from apps.notifications.models import AlertKind, Message, MessageKind, MessageStatus, ReminderRule, StaffAlert
from apps.notifications.outbox import reminder_message_queue
from apps.notifications.replies import inbound_receive, normalize
from apps.notifications.services import notification_settings_update
from apps.notifications.tests.conftest import local
from apps.notifications.tests.reply_table import REPLIES
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(book):
    def make(who=None, start=None):
        appointment = book(start or local(3, 10), who=who)
        return appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.REQUESTED,
                                            source=EventSource.SYSTEM)

    return make


def receive(organization, phone, text="", button_id="", message_id=None):
    message_id = message_id or f"wa-{timezone.now().timestamp()}"
    return inbound_receive(organization=organization, bridge_message_id=message_id, phone=phone, text=text,
                           button_id=button_id, push_name="Paciente")


def acks():
    return list(Message.objects.filter(kind=MessageKind.ACKNOWLEDGEMENT).values_list("body", flat=True))


def test_words_are_compared_without_case_accents_or_punctuation():
    assert normalize("  Sí! ") == "si"
    assert normalize("CONFIRMO.") == "confirmo"


@pytest.mark.parametrize("text", ["1", "si", "Sí", "confirmo"])
def test_a_confirming_reply_confirms_and_is_acknowledged(organization, patient, pending, text):
    appointment = pending()
    inbound = receive(organization, patient.phone, text)
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.CONFIRMED
    assert (inbound.kind, inbound.appointment) == (MessageKind.REPLY, appointment)
    assert acks()[0].startswith("¡Gracias, Juan!")


def test_a_button_answer_names_its_appointment(organization, patient, pending):
    first = pending(start=local(3, 10))
    second = pending(start=local(4, 10))
    receive(organization, patient.phone, button_id=f"cancel:{second.pk}")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == AppointmentStatus.SCHEDULED
    assert (second.status, second.cancelled_by) == (AppointmentStatus.CANCELLED, "patient")


def test_a_cancelling_reply_cancels_as_the_patient_and_alerts_staff(organization, patient, pending):
    appointment = pending()
    receive(organization, patient.phone, "2")
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_by, appointment.confirmation) == (
        AppointmentStatus.CANCELLED, "patient", ConfirmationStatus.DECLINED)
    alert = StaffAlert.objects.get()
    assert (alert.kind, alert.appointment, alert.patient) == (AlertKind.PATIENT_CANCELLED, appointment, patient)
    assert "cancelamos su cita" in acks()[0]


def test_the_clinic_s_own_keywords_are_used(organization, patient, pending):
    notification_settings_update(organization=organization, data={"confirm_keywords": "vale, listo",
                                                                  "cancel_keywords": "anular"})
    appointment = pending()
    assert receive(organization, patient.phone, "1").kind == MessageKind.FREE_TEXT
    receive(organization, patient.phone, "Listo")
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.CONFIRMED


def test_a_reply_with_nothing_pending_is_a_message_for_staff(organization, patient):
    inbound = receive(organization, patient.phone, "1")
    assert (inbound.kind, inbound.patient) == (MessageKind.FREE_TEXT, patient)
    assert acks() == []


def test_anything_else_is_stored_for_staff(organization, patient, pending):
    appointment = pending()
    inbound = receive(organization, patient.phone, "¿Puedo llevar a mi hijo?")
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.REQUESTED
    assert (inbound.kind, inbound.patient, inbound.body) == (MessageKind.FREE_TEXT, patient, "¿Puedo llevar a mi hijo?")


def test_a_shared_phone_matches_the_patient_with_the_pending_confirmation(organization, patient, pending):
    sibling = PatientFactory(consenting=True, organization=organization, first_name="Sara", phone=patient.phone)
    appointment = pending(who=sibling)
    receive(organization, patient.phone, "1")
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.CONFIRMED


def test_a_shared_phone_with_two_pending_confirmations_asks_staff_to_choose(organization, patient, pending):
    sibling = PatientFactory(consenting=True, organization=organization, first_name="Sara", phone=patient.phone)
    mine, theirs = pending(), pending(who=sibling, start=local(3, 11))
    inbound = receive(organization, patient.phone, "1")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.confirmation == theirs.confirmation == ConfirmationStatus.REQUESTED
    assert inbound.patient is None
    assert StaffAlert.objects.get().kind == AlertKind.AMBIGUOUS_REPLY


def test_stop_opts_out_every_patient_on_the_phone_and_start_opts_back_in(organization, patient):
    sibling = PatientFactory(consenting=True, organization=organization, phone=patient.phone)
    assert receive(organization, patient.phone, "STOP").kind == MessageKind.OPT_OUT
    patient.refresh_from_db()
    sibling.refresh_from_db()
    assert patient.whatsapp_opted_out and sibling.whatsapp_opted_out
    assert acks()[0].startswith("No le enviaremos más mensajes")
    assert receive(organization, patient.phone, "start").kind == MessageKind.OPT_IN
    patient.refresh_from_db()
    assert not patient.whatsapp_opted_out


def test_the_same_inbound_message_twice_is_stored_once(organization, patient):
    receive(organization, patient.phone, "Hola", message_id="wa-same")
    receive(organization, patient.phone, "Hola", message_id="wa-same")
    assert Message.objects.filter(direction="in").count() == 1


def test_a_reply_only_reaches_its_own_clinic(organization, other_organization, patient, book):
    theirs = PatientFactory(consenting=True, organization=other_organization, phone=patient.phone)
    appointment = book(local(3, 10))
    appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.REQUESTED,
                                 source=EventSource.SYSTEM)
    inbound = receive(other_organization, patient.phone, "2")
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.SCHEDULED
    assert (inbound.organization, inbound.patient) == (other_organization, theirs)


def test_an_answer_after_the_appointment_started_is_kept_for_staff(organization, patient, book):
    appointment = book(timezone.now() + dt.timedelta(minutes=30))
    appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.REQUESTED,
                                 source=EventSource.SYSTEM)
    inbound = inbound_receive(organization=organization, bridge_message_id="late", phone=patient.phone, text="1",
                              at=appointment.start + dt.timedelta(minutes=5))
    assert inbound.kind == MessageKind.FREE_TEXT


def test_asking_for_a_call_flags_the_appointment_and_alerts_staff(organization, patient, pending):
    appointment = pending()
    receive(organization, patient.phone, "3")
    appointment.refresh_from_db()
    assert (appointment.status, appointment.confirmation) == (AppointmentStatus.SCHEDULED,
                                                             ConfirmationStatus.CALLBACK_REQUESTED)
    alert = StaffAlert.objects.get()
    assert (alert.kind, alert.appointment, alert.patient) == (AlertKind.CALLBACK_REQUESTED, appointment, patient)
    assert "Lo llamaremos pronto" in acks()[0]


def test_the_call_me_button_names_its_appointment(organization, patient, pending):
    appointment = pending()
    receive(organization, patient.phone, "", button_id=f"callback:{appointment.pk}")
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.CALLBACK_REQUESTED


def test_after_asking_for_a_call_the_patient_can_still_confirm(organization, patient, pending):
    appointment = pending()
    receive(organization, patient.phone, "Llámenme")
    receive(organization, patient.phone, "1")
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.CONFIRMED


def test_call_words_cannot_also_confirm(organization):
    with pytest.raises(ApplicationError) as refused:
        notification_settings_update(organization=organization, data={"callback_keywords": "3, si"})
    assert refused.value.field == "callback_keywords"


def sent_reminder(appointment, bridge_id):
    """The reminder as the outbox leaves it once the bridge took it."""
    rule = ReminderRule.objects.filter(organization=appointment.organization).first()
    message = reminder_message_queue(appointment=appointment, rule=rule)
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENT, bridge_message_id=bridge_id,
                                                 sent_at=timezone.now())
    return message


@pytest.mark.parametrize(("text", "meaning"), [(t, m) for t, m in REPLIES if len(t) < 40])
def test_every_reply_of_the_table_does_what_it_means_to_the_appointment(organization, patient, pending, text,
                                                                         meaning):
    appointment = pending()
    inbound = receive(organization, patient.phone, text)
    appointment.refresh_from_db()
    expected = {"confirm": (AppointmentStatus.SCHEDULED, ConfirmationStatus.CONFIRMED),
                "cancel": (AppointmentStatus.CANCELLED, ConfirmationStatus.DECLINED),
                "callback": (AppointmentStatus.SCHEDULED, ConfirmationStatus.CALLBACK_REQUESTED),
                None: (AppointmentStatus.SCHEDULED, ConfirmationStatus.REQUESTED)}[meaning]
    assert (appointment.status, appointment.confirmation) == expected
    assert inbound.kind == (MessageKind.FREE_TEXT if meaning is None else MessageKind.REPLY)


def test_1_answers_the_last_reminder_sent_to_the_number_not_the_earliest_appointment(organization, patient,
                                                                                    pending):
    # What a bridge with native buttons (the sandbox) sends when the patient types "1": no button id.
    earlier, later = pending(start=local(3, 10)), pending(start=local(5, 10))
    sent_reminder(earlier, "wa-out-1")
    sent_reminder(later, "wa-out-2")
    inbound = receive(organization, patient.phone, "1")
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (earlier.confirmation, later.confirmation) == (ConfirmationStatus.REQUESTED, ConfirmationStatus.CONFIRMED)
    assert inbound.reply_to.bridge_message_id == "wa-out-2"


def test_a_quoted_reminder_is_the_one_answered(organization, patient, pending):
    earlier, later = pending(start=local(3, 10)), pending(start=local(5, 10))
    sent_reminder(earlier, "wa-out-1")
    sent_reminder(later, "wa-out-2")
    inbound_receive(organization=organization, bridge_message_id="wa-in-q", phone=patient.phone, text="2",
                    reply_to="wa-out-1")
    earlier.refresh_from_db()
    later.refresh_from_db()
    assert (earlier.status, later.status) == (AppointmentStatus.CANCELLED, AppointmentStatus.SCHEDULED)


def test_on_a_shared_phone_1_answers_the_patient_whose_reminder_came_last(organization, patient, pending):
    sibling = PatientFactory(consenting=True, organization=organization, phone=patient.phone, first_name="Ana")
    mine, theirs = pending(start=local(5, 10)), pending(who=sibling, start=local(3, 11))
    sent_reminder(mine, "wa-out-1")
    sent_reminder(theirs, "wa-out-2")
    receive(organization, patient.phone, "1")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.confirmation, theirs.confirmation) == (ConfirmationStatus.REQUESTED, ConfirmationStatus.CONFIRMED)
    assert not StaffAlert.objects.filter(kind=AlertKind.AMBIGUOUS_REPLY).exists()


def test_a_repeated_1_is_a_handled_reply_not_a_message_for_staff(organization, patient, pending):
    appointment = pending()
    sent_reminder(appointment, "wa-out-1")
    receive(organization, patient.phone, "1", message_id="wa-in-1")
    again = receive(organization, patient.phone, "1", message_id="wa-in-2")
    assert (again.kind, again.appointment) == (MessageKind.REPLY, appointment)
    assert len(acks()) == 1


def test_a_call_request_alert_closes_itself_once_the_appointment_is_confirmed(organization, patient, pending,
                                                                             django_capture_on_commit_callbacks):
    appointment = pending()
    receive(organization, patient.phone, "3")
    alert = StaffAlert.objects.get(kind=AlertKind.CALLBACK_REQUESTED)

    with django_capture_on_commit_callbacks(execute=True):
        appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.CONFIRMED,
                                     source=EventSource.UI)

    alert.refresh_from_db()
    assert alert.handled_at is not None and alert.handled_by is None
