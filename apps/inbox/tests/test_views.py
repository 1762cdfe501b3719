import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.appointments.models import ConfirmationStatus
from apps.appointments.tests.factories import AppointmentFactory
from apps.inbox.models import CannedReply, Conversation, ConversationState
from apps.inbox.selectors import conversation_list_version
from apps.inbox.tests.factories import CannedReplyFactory
from apps.notifications.models import Direction, Message
from apps.notifications.tests.factories import MessageFactory
from apps.patients.services.patients import patient_update
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _conversation(organization, **patient_fields):
    patient = PatientFactory(organization=organization, whatsapp_consent=True, whatsapp_consent_at=timezone.now(),
                             **patient_fields)
    MessageFactory(inbound=True, organization=organization, patient=patient, body="¿A qué hora abren?")
    return Conversation.objects.get(organization=organization, patient=patient)


def test_the_inbox_lists_conversations_with_their_last_message(staff_client, organization):
    conversation = _conversation(organization, first_name="Marta")

    html = staff_client.get(reverse("inbox")).content.decode()

    assert f'data-conversation-id="{conversation.pk}"' in html
    assert "Marta" in html and "¿A qué hora abren?" in html


def test_the_list_refreshes_as_a_fragment_for_htmx(staff_client, organization):
    _conversation(organization)
    response = staff_client.get(reverse("inbox"), {"filter": "all"}, HTTP_HX_REQUEST="true")
    assert response.templates[0].name == "inbox/_conversation_list.html"


def _poll(client, since):
    return client.get(reverse("inbox"), {"filter": "open", "since": since}, HTTP_HX_REQUEST="true")


def test_the_list_poll_answers_204_until_a_conversation_changes(staff_client, organization, staff_user):
    conversation = _conversation(organization, first_name="Marta")
    page = staff_client.get(reverse("inbox"))
    html = page.content.decode()
    since = page.context["list_version"]
    assert f'name="since" value="{since}"' in html and 'hx-include="#conversation-list-version"' in html

    assert _poll(staff_client, since).status_code == 204
    assert _poll(staff_client, "stale").status_code == 200  # a version it does not know: the whole list

    MessageFactory(inbound=True, organization=organization, patient=conversation.patient, body="¿Sigue abierto?")
    fresh = _poll(staff_client, since)
    assert fresh.status_code == 200 and "¿Sigue abierto?" in fresh.content.decode()
    since = fresh.context["list_version"]
    assert _poll(staff_client, since).status_code == 204

    # Reading it (its unread mark goes), assigning it, setting it aside: each is news for the list.
    for change in (lambda: staff_client.get(reverse("conversation-detail", args=[conversation.pk])),
                   lambda: staff_client.post(reverse("conversation-assign", args=[conversation.pk]),
                                             {"assigned_to": "me"}),
                   lambda: staff_client.post(reverse("conversation-state", args=[conversation.pk]),
                                             {"state": "resolved"})):
        change()
        response = _poll(staff_client, since)
        assert response.status_code == 200
        since = response.context["list_version"]
    assert 'id="no-conversations"' in response.content.decode()  # resolved: no longer "open"
    # An open thread polls and re-reads; with nothing unread that changes nothing for the list.
    staff_client.get(reverse("conversation-thread", args=[conversation.pk]), HTTP_HX_REQUEST="true")
    assert _poll(staff_client, since).status_code == 204


def test_a_renamed_patient_is_news_for_the_list_poll(staff_client, organization, other_organization):
    conversation = _conversation(organization, first_name="Marta", whatsapp_consent_source="in_person")
    theirs = _conversation(other_organization, first_name="Rosa", whatsapp_consent_source="in_person")
    page = staff_client.get(reverse("inbox"))
    since = page.context["list_version"]
    their_version = conversation_list_version(organization=other_organization)

    patient_update(patient=conversation.patient, data={"first_name": "Martina"})

    response = _poll(staff_client, since)
    assert response.status_code == 200 and "Martina" in response.content.decode()
    assert _poll(staff_client, response.context["list_version"]).status_code == 204
    # Another clinic's list is not moved by it.
    assert conversation_list_version(organization=other_organization) == their_version
    patient_update(patient=theirs.patient, data={"first_name": "Rosalba"})
    assert _poll(staff_client, response.context["list_version"]).status_code == 204


def test_the_nav_badge_counts_unread_conversations_and_opening_one_reads_it(staff_client, organization):
    conversation = _conversation(organization)
    page = staff_client.get(reverse("inbox"))
    assert page.context["nav_unread_count"] == 1
    assert 'id="nav-unread"' in page.content.decode()

    staff_client.get(reverse("conversation-detail", args=[conversation.pk]))

    assert staff_client.get(reverse("inbox")).context["nav_unread_count"] == 0


def test_the_nav_badge_costs_one_query(staff_client, organization, django_assert_num_queries, rf, staff_user):
    from apps.inbox.context_processors import inbox

    _conversation(organization)
    request = rf.get("/")
    request.user, request.organization = staff_user, organization
    with django_assert_num_queries(1):
        assert inbox(request) == {"nav_unread_count": 1}


def test_a_fragment_without_the_navigation_does_not_count_unread_conversations(staff_client, organization):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _conversation(organization)
    staff_client.get(reverse("inbox"))  # the session settles (its chosen clinic) before counting
    with CaptureQueriesContext(connection) as page:
        staff_client.get(reverse("inbox"))
    with CaptureQueriesContext(connection) as fragment:
        response = staff_client.get(reverse("inbox"), {"filter": "all"}, HTTP_HX_REQUEST="true")

    def counts(queries):
        # The badge's count: conversations whose latest patient message came after the last read.
        return [q["sql"] for q in queries if '"__count"' in q["sql"] and '"last_inbound_at" >' in q["sql"]]

    assert len(counts(page.captured_queries)) == 1  # the page's badge
    assert response.status_code == 200 and 'id="nav-unread"' not in response.content.decode()
    assert counts(fragment.captured_queries) == []


def test_the_conversation_shows_the_thread_with_delivery_ticks_and_failures(staff_client, organization):
    conversation = _conversation(organization)
    Message.objects.create(organization=organization, patient=conversation.patient, direction=Direction.OUTBOUND,
                           kind="free_text", phone=conversation.patient.phone, body="Abrimos a las 8",
                           status="read")
    Message.objects.create(organization=organization, patient=conversation.patient, direction=Direction.OUTBOUND,
                           kind="free_text", phone=conversation.patient.phone, body="¿Me escuchas?",
                           status="failed", error="Number not on WhatsApp")

    html = staff_client.get(reverse("conversation-thread", args=[conversation.pk])).content.decode()

    assert html.index("¿A qué hora abren?") < html.index("Abrimos a las 8") < html.index("¿Me escuchas?")
    assert 'data-status="read"' in html
    assert "Number not on WhatsApp" in html


def test_a_reply_from_the_inbox_is_queued(staff_client, organization, whatsapp_linked, staff_user):
    conversation = _conversation(organization)

    response = staff_client.post(reverse("conversation-reply", args=[conversation.pk]), {"body": "A las 8"},
                                 HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and response["HX-Trigger"] == "inbox-refresh"
    reply = Message.objects.get(organization=organization, direction=Direction.OUTBOUND)
    assert (reply.body, reply.status, reply.sent_by) == ("A las 8", "queued", staff_user)


@pytest.mark.parametrize("case", ["empty", "opted_out", "not_linked"])
def test_a_refused_reply_says_why_and_queues_nothing(staff_client, organization, case, request):
    if case != "not_linked":
        request.getfixturevalue("whatsapp_linked")
    conversation = _conversation(organization, whatsapp_opted_out=case == "opted_out")
    body = "   " if case == "empty" else "Hola"

    response = staff_client.post(reverse("conversation-reply", args=[conversation.pk]), {"body": body},
                                 HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert 'id="reply-error"' in html
    expected = {"empty": "Write a reply", "opted_out": "STOP", "not_linked": "not linked"}[case]
    assert expected in html
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_the_conversation_warns_when_whatsapp_is_not_linked(staff_client, organization):
    conversation = _conversation(organization)
    html = staff_client.get(reverse("conversation-detail", args=[conversation.pk])).content.decode()
    assert 'id="not-linked"' in html


def test_staff_change_state_and_assign(staff_client, organization, staff_user):
    conversation = _conversation(organization)
    staff_client.post(reverse("conversation-state", args=[conversation.pk]), {"state": "resolved"})
    staff_client.post(reverse("conversation-assign", args=[conversation.pk]), {"assigned_to": str(staff_user.pk)})
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.RESOLVED and conversation.assigned_to == staff_user


def test_the_next_appointment_can_be_confirmed_and_cancelled_from_the_conversation(staff_client, organization):
    conversation = _conversation(organization)
    appointment = AppointmentFactory(organization=organization, patient=conversation.patient,
                                     start=timezone.now() + dt.timedelta(days=2))

    html = staff_client.get(reverse("conversation-detail", args=[conversation.pk])).content.decode()
    assert f'data-appointment-id="{appointment.pk}"' in html

    staff_client.post(reverse("conversation-appointment", args=[conversation.pk, appointment.pk, "confirm"]))
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.CONFIRMED

    staff_client.post(reverse("conversation-appointment", args=[conversation.pk, appointment.pk, "cancel"]))
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and appointment.cancelled_by == "staff"


def test_another_patients_appointment_cannot_be_touched_from_a_conversation(staff_client, organization):
    conversation = _conversation(organization)
    other = AppointmentFactory(organization=organization, start=timezone.now() + dt.timedelta(days=2))
    staff_client.post(reverse("conversation-appointment", args=[conversation.pk, other.pk, "confirm"]))
    other.refresh_from_db()
    assert other.confirmation == ConfirmationStatus.UNCONFIRMED


def test_canned_replies_are_offered_filled_in(staff_client, organization):
    conversation = _conversation(organization, first_name="Rosa")
    CannedReplyFactory(organization=organization, title="Saludo", body="Hola {patient_first_name}")
    html = staff_client.get(reverse("conversation-detail", args=[conversation.pk])).content.decode()
    assert 'data-text="Hola Rosa"' in html


def test_canned_replies_are_managed_per_clinic(staff_client, organization):
    response = staff_client.post(reverse("canned-reply-list"), {"title": "Horario", "body": "8 a 6 en {clinic}"})
    assert response.status_code == 302
    response = staff_client.post(reverse("canned-reply-list"), {"title": "Mal", "body": "Hola {nombre}"})
    assert response.status_code == 200 and "nombre" in response.content.decode()
    assert list(organization.canned_replies.values_list("title", flat=True)) == ["Horario"]


def test_a_patient_page_link_starts_a_conversation(staff_client, organization):
    patient = PatientFactory(organization=organization)
    response = staff_client.get(reverse("patient-conversation", args=[patient.pk]))
    conversation = Conversation.objects.get(organization=organization, patient=patient)
    assert response.url == reverse("conversation-detail", args=[conversation.pk])


def test_the_patient_page_offers_the_patient_s_conversation(staff_client, organization):
    patient = PatientFactory(organization=organization)
    html = staff_client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert reverse("patient-conversation", args=[patient.pk]) in html


def test_logged_out_visitors_are_sent_to_log_in(client, organization):
    assert client.get(reverse("inbox")).status_code == 302


def test_the_inbox_speaks_spanish_by_default(staff_client, organization, settings):
    settings.LANGUAGE_CODE = "es"
    conversation = _conversation(organization)
    response = staff_client.post(reverse("conversation-reply", args=[conversation.pk]), {"body": ""},
                                 HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="es")
    assert "Escriba una respuesta antes de enviar." in response.content.decode()


def test_the_unread_endpoint_answers_the_badge_text(staff_client, organization, other_organization):
    MessageFactory(inbound=True, organization=other_organization)
    assert staff_client.get(reverse("inbox-unread")).content == b""
    _conversation(organization)
    assert staff_client.get(reverse("inbox-unread")).content == b"1"


@pytest.mark.parametrize("body", ["Hola {patient_name:>999999999}", "Hola {patient_name!r}", "Hola {clinic[0]}"])
def test_a_canned_reply_with_a_format_spec_is_refused_naming_the_field(staff_client, organization, body):
    response = staff_client.post(reverse("canned-reply-list"), {"title": "Truco", "body": body})

    assert response.status_code == 200
    assert "body" in response.context["form"].errors
    assert not organization.canned_replies.exists()


def test_a_bad_canned_reply_stored_before_the_rule_does_not_break_the_conversation_page(staff_client, organization):
    conversation = _conversation(organization, first_name="Rosa")
    CannedReplyFactory(organization=organization, title="Roto", body="Hola {patient_first_name:>999999999999}")
    CannedReplyFactory(organization=organization, title="Grande", body="Hola {patient_first_name:>99999999}")
    CannedReplyFactory(organization=organization, title="Bien", body="Hola {patient_first_name}")

    response = staff_client.get(reverse("conversation-detail", args=[conversation.pk]))

    assert response.status_code == 200
    assert len(response.content) < 200_000
    assert 'data-text="Hola Rosa"' in response.content.decode()
def test_a_canned_reply_with_a_nul_byte_gets_a_form_error_on_its_field_and_is_not_saved(staff_client):
    response = staff_client.post(reverse("canned-reply-list"), {"title": "Horario", "body": "Abrimos\x00 a las 8"})

    assert response.status_code == 200
    assert "Null characters are not allowed." in response.context["form"].errors["body"]
    assert not CannedReply.objects.exists()
