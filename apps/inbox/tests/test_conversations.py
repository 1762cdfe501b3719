import datetime as dt

import pytest
from django.utils import timezone

from apps.inbox import selectors, services
from apps.inbox.models import Conversation, ConversationState
from apps.notifications.models import Message
from apps.notifications.tests.factories import MessageFactory
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _list(organization, **kwargs):
    return list(selectors.conversation_list(organization=organization, **kwargs))


def test_messages_of_one_patient_form_one_conversation_in_order(organization):
    patient = PatientFactory(organization=organization)
    first = MessageFactory(inbound=True, organization=organization, patient=patient, body="Hola")
    second = MessageFactory(organization=organization, patient=patient, body="Buenos días")
    third = MessageFactory(inbound=True, organization=organization, patient=patient, body="¿Tienen cita el lunes?")

    [conversation] = _list(organization, filter="all")

    assert conversation.patient == patient
    assert list(selectors.conversation_messages(conversation=conversation)) == [first, second, third]
    assert conversation.last_body == "¿Tienen cita el lunes?"


def test_an_unknown_number_gets_its_own_conversation(organization):
    patient = PatientFactory(organization=organization)
    MessageFactory(inbound=True, organization=organization, patient=patient)
    MessageFactory(inbound=True, organization=organization, patient=None, phone="+573001234567", contact_name="Carlos")

    conversations = _list(organization, filter="all")

    unknown = next(c for c in conversations if c.patient_id is None)
    assert len(conversations) == 2
    assert unknown.phone == "+573001234567"
    assert unknown.display_name == "Carlos"


def test_storing_messages_creates_the_conversation_once_and_keeps_its_latest_message(organization):
    patient = PatientFactory(organization=organization)
    MessageFactory(inbound=True, organization=organization, patient=patient, body="Hola")
    MessageFactory(organization=organization, patient=patient, body="Buenos días, ¿en qué le ayudo?")

    [conversation] = Conversation.objects.filter(organization=organization)
    assert conversation.last_body == "Buenos días, ¿en qué le ayudo?"
    assert conversation.last_direction == "out"
    assert conversation.last_inbound_at < conversation.last_message_at


def test_a_batch_of_messages_records_each_conversation_in_one_query(organization, django_assert_num_queries):
    ana, luis = PatientFactory(organization=organization), PatientFactory(organization=organization)
    messages = [MessageFactory.build(inbound=True, organization=organization, patient=ana, body="uno"),
                MessageFactory.build(inbound=True, organization=organization, patient=ana, body="dos"),
                MessageFactory.build(inbound=True, organization=organization, patient=luis, body="tres")]
    Message.objects.bulk_create(messages)  # no post_save: the batch writer records them itself

    with django_assert_num_queries(1):
        assert services.conversations_record_messages(messages=messages) == 2
    by_patient = {c.patient_id: c for c in Conversation.objects.filter(organization=organization)}
    assert by_patient[ana.pk].last_body == "dos" and by_patient[luis.pk].last_body == "tres"
    assert selectors.unread_conversation_count(organization=organization) == 2


def test_a_message_stored_late_never_hides_a_newer_one(organization):
    patient = PatientFactory(organization=organization)
    newer = MessageFactory(inbound=True, organization=organization, patient=patient, body="la más reciente")
    late = MessageFactory.build(inbound=True, organization=organization, patient=patient, body="atrasada")
    Message.objects.bulk_create([late])
    Message.objects.filter(pk=late.pk).update(created_at=newer.created_at - dt.timedelta(minutes=5))
    late.refresh_from_db()

    services.conversations_record_messages(messages=[late])

    [conversation] = _list(organization, filter="all")
    assert conversation.last_body == "la más reciente"
    assert conversation.last_message_at == newer.created_at


def test_unread_counts_patient_messages_since_last_read(organization):
    patient = PatientFactory(organization=organization)
    MessageFactory(inbound=True, organization=organization, patient=patient)
    MessageFactory(inbound=True, organization=organization, patient=patient)
    MessageFactory(organization=organization, patient=patient)

    [conversation] = _list(organization, filter="all")
    assert conversation.unread == 2
    assert selectors.unread_conversation_count(organization=organization) == 1

    services.conversation_mark_read(conversation=conversation)
    [conversation] = _list(organization, filter="all")
    assert conversation.unread == 0
    assert selectors.unread_conversation_count(organization=organization) == 0

    MessageFactory(inbound=True, organization=organization, patient=patient)
    assert selectors.unread_conversation_count(organization=organization) == 1


def test_unread_count_includes_conversations_nobody_opened(organization):
    MessageFactory(inbound=True, organization=organization)
    MessageFactory(inbound=True, organization=organization, patient=None, phone="+573005550000")
    assert selectors.unread_conversation_count(organization=organization) == 2


def test_a_new_patient_message_reopens_a_resolved_conversation(organization):
    patient = PatientFactory(organization=organization)
    MessageFactory(inbound=True, organization=organization, patient=patient)
    [conversation] = _list(organization, filter="all")
    services.conversation_state_set(conversation=conversation, state=ConversationState.RESOLVED)
    assert _list(organization, filter="open") == []
    assert [c.pk for c in _list(organization, filter="resolved")] == [conversation.pk]

    MessageFactory(inbound=True, organization=organization, patient=patient)

    [reopened] = _list(organization, filter="open")
    assert reopened.pk == conversation.pk and reopened.effective_state == ConversationState.OPEN
    services.conversation_refresh_state(conversation=reopened)
    reopened.refresh_from_db()
    assert reopened.state == ConversationState.OPEN


def test_our_own_reply_does_not_reopen_a_resolved_conversation(organization):
    patient = PatientFactory(organization=organization)
    MessageFactory(inbound=True, organization=organization, patient=patient)
    [conversation] = _list(organization, filter="all")
    services.conversation_state_set(conversation=conversation, state=ConversationState.RESOLVED)
    MessageFactory(organization=organization, patient=patient)

    assert [c.effective_state for c in _list(organization, filter="all")] == [ConversationState.RESOLVED]


def test_filters_mine_unassigned_open_and_all(organization, staff_user, admin_user):
    mine, theirs, free, done = (PatientFactory(organization=organization) for _ in range(4))
    for patient in (mine, theirs, free, done):
        MessageFactory(inbound=True, organization=organization, patient=patient)
    by_patient = {c.patient_id: c for c in Conversation.objects.filter(organization=organization)}
    services.conversation_assign(conversation=by_patient[mine.pk], user=staff_user)
    services.conversation_assign(conversation=by_patient[theirs.pk], user=admin_user)
    services.conversation_state_set(conversation=by_patient[done.pk], state=ConversationState.RESOLVED)

    def patients(filter):
        return {c.patient_id for c in _list(organization, user=staff_user, filter=filter)}

    assert patients("mine") == {mine.pk}
    assert patients("unassigned") == {free.pk}
    assert patients("open") == {mine.pk, theirs.pk, free.pk}
    assert patients("all") == {mine.pk, theirs.pk, free.pk, done.pk}


def test_search_by_name_phone_or_text(organization):
    ana = PatientFactory(organization=organization, first_name="Ana María", last_name="Gómez", phone="+573101234567")
    luis = PatientFactory(organization=organization, first_name="Luis", last_name="Pérez")
    MessageFactory(inbound=True, organization=organization, patient=ana, body="hola")
    MessageFactory(inbound=True, organization=organization, patient=luis, body="¿Venden lentes de contacto?")

    def found(query):
        return {c.patient_id for c in _list(organization, filter="all", query=query)}

    assert found("gomez") == {ana.pk}
    assert found("310 123") == {ana.pk}
    assert found("lentes") == {luis.pk}


def test_assigning_someone_outside_the_clinic_is_refused(organization, other_user):
    MessageFactory(inbound=True, organization=organization)
    conversation = Conversation.objects.get(organization=organization)
    from apps.common.exceptions import ApplicationError

    with pytest.raises(ApplicationError):
        services.conversation_assign(conversation=conversation, user=other_user)


def test_replies_the_system_handled_neither_count_as_unread_nor_reopen(organization):
    from apps.notifications.models import MessageKind

    patient = PatientFactory(organization=organization)
    MessageFactory(inbound=True, organization=organization, patient=patient, body="Hola")
    [conversation] = _list(organization, filter="all")
    services.conversation_mark_read(conversation=conversation)
    services.conversation_state_set(conversation=conversation, state=ConversationState.RESOLVED)
    for kind, body in ((MessageKind.REPLY, "1"), (MessageKind.OPT_OUT, "STOP")):
        message = MessageFactory(inbound=True, organization=organization, patient=patient, kind=kind, body=body)
        type(message).objects.filter(pk=message.pk).update(created_at=timezone.now() + dt.timedelta(seconds=1))

    [conversation] = _list(organization, filter="all")
    assert (conversation.unread, conversation.effective_state) == (0, ConversationState.RESOLVED)
    assert selectors.unread_conversation_count(organization=organization) == 0
