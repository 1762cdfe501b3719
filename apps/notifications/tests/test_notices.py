"""Booked, moved and cancelled-by-staff notices: on/off per clinic, once, in office hours, with consent."""

import datetime as dt

import pytest

from apps.appointments.services import appointment_cancel, appointment_move
from apps.notifications.models import Message, MessageKind, MessageStatus
from apps.notifications.notices import appointment_notice_queue
from apps.notifications.services import notification_settings_update
from apps.notifications.tests.conftest import BOGOTA, local
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

OFFICE_HOURS = dt.datetime(2031, 3, 3, 10, tzinfo=BOGOTA)  # a Monday at 10:00


@pytest.fixture
def notices_on(organization):
    notification_settings_update(organization=organization, data={
        "notify_booked": True, "notify_moved": True, "notify_cancelled": True})


def notice(appointment, change, now=OFFICE_HOURS):
    appointment.refresh_from_db()
    return appointment_notice_queue(appointment_id=appointment.pk, change=change, start=appointment.start, now=now)


def test_a_booking_notice_is_queued_in_the_patient_s_words_once(organization, book, notices_on):
    appointment = book(dt.datetime(2031, 3, 5, 15, tzinfo=BOGOTA))

    message, retry = notice(appointment, "booked")
    again, _retry = notice(appointment, "booked")

    assert retry is None and again is None
    assert (message.kind, message.status, message.patient) == (MessageKind.BOOKED, MessageStatus.QUEUED,
                                                               appointment.patient)
    assert message.body == ("Hola, Juan. Su cita en Óptica Norte quedó agendada para el miércoles 5 de marzo a las "
                            "15:00 con Dra. Ana Ruiz. Le enviaremos un recordatorio antes.")
    assert Message.objects.filter(appointment=appointment, kind=MessageKind.BOOKED).count() == 1


def test_each_notice_is_off_unless_the_clinic_turns_it_on(organization, book):
    appointment = book(dt.datetime(2031, 3, 5, 15, tzinfo=BOGOTA))
    assert notice(appointment, "booked") == (None, None)
    notification_settings_update(organization=organization, data={"notify_booked": True})
    assert notice(appointment, "booked")[0] is not None
    appointment_cancel(appointment=appointment, source="ui")
    assert notice(appointment, "cancelled") == (None, None)


def test_a_move_notice_names_the_new_time_and_an_outdated_one_is_dropped(organization, book, notices_on):
    appointment = book(dt.datetime(2031, 3, 5, 15, tzinfo=BOGOTA))
    old_start = appointment.start
    appointment_move(appointment=appointment, start=dt.datetime(2031, 3, 6, 9, tzinfo=BOGOTA), source="ui",
                     override=True)

    stale = appointment_notice_queue(appointment_id=appointment.pk, change="moved", start=old_start, now=OFFICE_HOURS)
    message, _retry = notice(appointment, "moved")

    assert stale == (None, None)
    assert "jueves 6 de marzo a las 09:00" in message.body


def test_only_a_staff_cancellation_is_announced(organization, book, notices_on):
    by_staff = book(dt.datetime(2031, 3, 5, 15, tzinfo=BOGOTA))
    by_patient = book(dt.datetime(2031, 3, 5, 16, tzinfo=BOGOTA))
    appointment_cancel(appointment=by_staff, source="ui")
    appointment_cancel(appointment=by_patient, by_patient=True, source="whatsapp")

    assert "fue cancelada" in notice(by_staff, "cancelled")[0].body
    assert notice(by_patient, "cancelled") == (None, None)


def test_in_quiet_hours_a_notice_waits_for_the_end_of_them(organization, book, notices_on):
    appointment = book(dt.datetime(2031, 3, 5, 15, tzinfo=BOGOTA))
    late_evening = dt.datetime(2031, 3, 3, 21, tzinfo=BOGOTA)

    message, retry = notice(appointment, "booked", now=late_evening)

    assert message is None and retry == dt.datetime(2031, 3, 4, 8, tzinfo=BOGOTA)
    assert not Message.objects.filter(appointment=appointment).exists()


def test_a_patient_without_consent_gets_no_notice(organization, book, notices_on):
    patient = PatientFactory(organization=organization)
    appointment = book(dt.datetime(2031, 3, 5, 15, tzinfo=BOGOTA), who=patient)
    assert notice(appointment, "booked") == (None, None)


def test_booking_through_the_service_defers_the_notice_job_after_commit(organization, book, notices_on,
                                                                       django_capture_on_commit_callbacks):
    from procrastinate.contrib.django.models import ProcrastinateJob

    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(local(5, 10))

    job = ProcrastinateJob.objects.get(task_name="notifications.send_appointment_notice")
    assert (job.args["appointment_id"], job.args["change"]) == (appointment.pk, "booked")
    assert dt.datetime.fromisoformat(job.args["start"]) == appointment.start
