"""An answer from a phone several patients share: staff choose whose appointment it was about."""

import pytest
from django.urls import reverse

from apps.appointments.models import AppointmentStatus, ConfirmationStatus, EventSource
from apps.appointments.services import appointment_confirmation_set
from apps.appointments.tests.factories import ProviderFactory
from apps.common.exceptions import ApplicationError
from apps.notifications.models import AlertKind, Message, MessageKind, StaffAlert
from apps.notifications.replies import ambiguous_reply_assign, ambiguous_reply_candidates
from apps.notifications.tests.conftest import local
from apps.notifications.tests.test_replies import acks, receive
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_phone(organization, patient, book):
    """Juan and his sister Sara share a phone; both have a reminder waiting for an answer, and "1" came."""
    sara = PatientFactory(consenting=True, organization=organization, first_name="Sara", last_name="Pérez",
                          phone=patient.phone)
    juan_s, sara_s = book(local(3, 10)), book(local(3, 11), who=sara)
    for appointment in (juan_s, sara_s):
        appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.REQUESTED,
                                     source=EventSource.SYSTEM)
    answer = receive(organization, patient.phone, "1")
    return {"answer": answer, "juan": juan_s, "sara": sara_s}


def _choose_page(client, answer):
    return client.get(reverse("ambiguous-reply", args=[answer.pk]))


def test_staff_see_the_waiting_appointments_of_everyone_on_the_phone(staff_client, shared_phone):
    html = _choose_page(staff_client, shared_phone["answer"]).content.decode()

    assert f'data-appointment="{shared_phone["juan"].pk}"' in html
    assert f'data-appointment="{shared_phone["sara"].pk}"' in html
    assert "Juan Pérez" in html and "Sara Pérez" in html
    assert "Elegir el paciente" in html and "¿A qué cita corresponde esta respuesta?" in html


def test_the_alert_links_to_the_choice(staff_client, shared_phone):
    html = staff_client.get(reverse("alert-list")).content.decode()

    assert reverse("ambiguous-reply", args=[shared_phone["answer"].pk]) in html


def test_the_chosen_appointment_takes_the_answer_as_if_the_patient_had_been_clear(staff_client, staff_user,
                                                                                shared_phone):
    answer, sara_s, juan_s = shared_phone["answer"], shared_phone["sara"], shared_phone["juan"]

    response = staff_client.post(reverse("ambiguous-reply", args=[answer.pk]), {"appointment": sara_s.pk})

    assert response.status_code == 302
    sara_s.refresh_from_db()
    juan_s.refresh_from_db()
    assert sara_s.confirmation == ConfirmationStatus.CONFIRMED
    assert juan_s.confirmation == ConfirmationStatus.REQUESTED
    answer.refresh_from_db()
    assert (answer.kind, answer.patient, answer.appointment) == (MessageKind.REPLY, sara_s.patient, sara_s)
    assert len(acks()) == 1  # Sara is told her visit is confirmed
    # The answer is now in Sara's conversation, with the acknowledgement that followed it.
    thread = staff_client.get(reverse("patient-conversation", args=[sara_s.patient_id]), follow=True)
    assert f'data-message-id="{answer.pk}"' in thread.content.decode()
    alert = StaffAlert.objects.get(kind=AlertKind.AMBIGUOUS_REPLY)
    assert (alert.handled_by, alert.handled_at is not None) == (staff_user, True)
    # Done: the page now says there is nothing left to choose, and a second choice changes nothing.
    assert 'id="nothing-to-choose"' in _choose_page(staff_client, answer).content.decode()
    again = staff_client.post(reverse("ambiguous-reply", args=[answer.pk]), {"appointment": juan_s.pk})
    assert again.status_code == 400
    juan_s.refresh_from_db()
    assert juan_s.confirmation == ConfirmationStatus.REQUESTED


def test_a_cancelling_answer_cancels_only_the_chosen_visit(organization, patient, staff_user, shared_phone):
    cancel = receive(organization, patient.phone, "2")
    assert {a.pk for a in ambiguous_reply_candidates(message=cancel)} == {shared_phone["juan"].pk,
                                                                           shared_phone["sara"].pk}

    ambiguous_reply_assign(message=cancel, appointment_id=shared_phone["juan"].pk, user=staff_user)

    shared_phone["juan"].refresh_from_db()
    shared_phone["sara"].refresh_from_db()
    assert shared_phone["juan"].status == AppointmentStatus.CANCELLED
    assert shared_phone["sara"].status == AppointmentStatus.SCHEDULED


@pytest.mark.parametrize("choice", [None, "", "x", "999999"], ids=["absent", "empty", "not_a_number", "not_waiting"])
def test_a_choice_that_is_not_one_of_the_waiting_appointments_is_refused_and_changes_nothing(
        staff_client, shared_phone, choice):
    response = staff_client.post(reverse("ambiguous-reply", args=[shared_phone["answer"].pk]),
                                 {} if choice is None else {"appointment": choice})

    assert response.status_code == 400
    assert 'data-field="appointment"' in response.content.decode()
    for appointment in (shared_phone["juan"], shared_phone["sara"]):
        appointment.refresh_from_db()
        assert appointment.confirmation == ConfirmationStatus.REQUESTED
    assert Message.objects.get(pk=shared_phone["answer"].pk).kind == MessageKind.FREE_TEXT


def test_a_message_that_is_no_answer_has_nothing_to_choose(organization, patient, staff_user, shared_phone):
    question = receive(organization, patient.phone, "¿Puedo llevar a mi hermana?")

    assert ambiguous_reply_candidates(message=question) == []
    with pytest.raises(ApplicationError) as refused:
        ambiguous_reply_assign(message=question, appointment_id=shared_phone["juan"].pk, user=staff_user)
    assert refused.value.field == "message"


def test_another_clinic_s_answer_is_not_found_and_its_appointments_are_never_offered(
        client, other_user, organization, shared_phone, other_organization):
    client.force_login(other_user)

    assert _choose_page(client, shared_phone["answer"]).status_code == 404
    assert client.post(reverse("ambiguous-reply", args=[shared_phone["answer"].pk]),
                       {"appointment": shared_phone["sara"].pk}).status_code == 404
    shared_phone["sara"].refresh_from_db()
    assert shared_phone["sara"].confirmation == ConfirmationStatus.REQUESTED


def test_the_same_phone_in_another_clinic_is_never_a_candidate(organization, other_organization, patient,
                                                                shared_phone):
    from apps.appointments.services import appointment_book
    from apps.appointments.tests.factories import AppointmentTypeFactory

    elsewhere = PatientFactory(consenting=True, organization=other_organization, phone=patient.phone)
    theirs = appointment_book(organization=other_organization, patient=elsewhere,
                              provider=ProviderFactory(organization=other_organization),
                              appointment_type=AppointmentTypeFactory(organization=other_organization),
                              start=local(3, 12), override=True)
    appointment_confirmation_set(appointment=theirs, confirmation=ConfirmationStatus.REQUESTED,
                                 source=EventSource.SYSTEM)

    offered = {a.pk for a in ambiguous_reply_candidates(message=shared_phone["answer"])}

    assert offered == {shared_phone["juan"].pk, shared_phone["sara"].pk}
