import pytest
from django.utils import timezone

from apps.common.exceptions import ApplicationError
from apps.inbox import services
from apps.inbox.models import Conversation
from apps.inbox.tests.factories import CannedReplyFactory, linked_session
from apps.notifications.models import Direction, Message, MessageKind, MessageStatus
from apps.notifications.tests.factories import MessageFactory
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.models import SessionStatus

pytestmark = pytest.mark.django_db


def _conversation(organization, **patient_fields):
    patient = PatientFactory(organization=organization, whatsapp_consent=True, whatsapp_consent_at=timezone.now(),
                             **patient_fields)
    MessageFactory(inbound=True, organization=organization, patient=patient)
    return Conversation.objects.get(organization=organization, patient=patient)


def test_a_reply_is_queued_as_a_message_before_it_is_sent(organization, staff_user, whatsapp_linked):
    conversation = _conversation(organization)

    message = services.conversation_reply(conversation=conversation, body="  Claro, lo esperamos  ", user=staff_user)

    assert message.direction == Direction.OUTBOUND
    assert message.kind == MessageKind.FREE_TEXT
    assert message.status == MessageStatus.QUEUED
    assert message.body == "Claro, lo esperamos"
    assert message.sent_by == staff_user
    assert message.patient == conversation.patient


def test_a_reply_to_an_unknown_number_goes_to_that_number(organization, staff_user, whatsapp_linked):
    MessageFactory(inbound=True, organization=organization, patient=None, phone="+573007654321")
    conversation = Conversation.objects.get(organization=organization)

    message = services.conversation_reply(conversation=conversation, body="¿Con quién hablo?", user=staff_user)

    assert message.phone == "+573007654321" and message.patient is None


def test_an_empty_reply_is_refused(organization, staff_user, whatsapp_linked):
    conversation = _conversation(organization)
    before = Message.objects.count()
    with pytest.raises(ApplicationError) as error:
        services.conversation_reply(conversation=conversation, body="   ", user=staff_user)
    assert error.value.field == "body"
    assert Message.objects.count() == before


def test_a_reply_to_a_patient_who_opted_out_is_refused(organization, staff_user, whatsapp_linked):
    conversation = _conversation(organization, whatsapp_opted_out=True)
    before = Message.objects.count()
    with pytest.raises(ApplicationError, match="STOP"):
        services.conversation_reply(conversation=conversation, body="Hola", user=staff_user)
    assert Message.objects.count() == before


@pytest.mark.parametrize("status", [None, SessionStatus.LOGGED_OUT, SessionStatus.QR_READY, SessionStatus.FAILED])
def test_a_reply_while_whatsapp_is_not_linked_is_refused(organization, staff_user, status):
    if status:
        linked_session(organization, status=status)
    conversation = _conversation(organization)
    before = Message.objects.count()
    with pytest.raises(ApplicationError, match="not linked"):
        services.conversation_reply(conversation=conversation, body="Hola", user=staff_user)
    assert Message.objects.count() == before


def test_another_clinics_link_does_not_count(organization, other_organization, staff_user):
    linked_session(other_organization)
    conversation = _conversation(organization)
    with pytest.raises(ApplicationError):
        services.conversation_reply(conversation=conversation, body="Hola", user=staff_user)


def test_canned_replies_fill_in_the_template_variables(organization):
    conversation = _conversation(organization, first_name="Ana")
    canned = CannedReplyFactory(organization=organization,
                                body="Hola {patient_first_name}, le escribimos de {clinic}.")
    assert services.canned_reply_render(canned=canned, conversation=conversation) == (
        f"Hola Ana, le escribimos de {organization.name}.")


def test_a_canned_reply_with_an_unknown_variable_is_refused(organization):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.canned_reply_save(organization=organization, title="Mal", body="Hola {nombre}")


def test_canned_reply_titles_are_unique_per_clinic(organization, other_organization):
    from django.core.exceptions import ValidationError

    services.canned_reply_save(organization=organization, title="Horario", body="8 a 6")
    services.canned_reply_save(organization=other_organization, title="Horario", body="9 a 5")
    with pytest.raises((ApplicationError, ValidationError)):
        services.canned_reply_save(organization=organization, title="Horario", body="otra")


def test_a_reply_to_a_shared_number_that_said_stop_is_refused(organization, staff_user, whatsapp_linked):
    PatientFactory(organization=organization, phone="+573007654321", whatsapp_opted_out=True,
                   whatsapp_opted_out_at=timezone.now())
    PatientFactory(organization=organization, phone="+573007654321")
    MessageFactory(inbound=True, organization=organization, patient=None, phone="+573007654321")
    conversation = Conversation.objects.get(organization=organization)
    with pytest.raises(ApplicationError, match="STOP"):
        services.conversation_reply(conversation=conversation, body="Hola", user=staff_user)
