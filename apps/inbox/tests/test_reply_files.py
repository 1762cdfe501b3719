"""Staff answer a conversation with a file: the reply box takes an image or a document."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.common.exceptions import ApplicationError
from apps.inbox import services
from apps.inbox.models import Conversation
from apps.inbox.tests.test_reply import _conversation
from apps.notifications.models import AttachmentKind, Message, MessageStatus
from apps.notifications.tests.factories import MessageFactory
from apps.notifications.tests.test_media import PDF, png

pytestmark = pytest.mark.django_db


def test_staff_reply_with_a_document_and_a_caption(staff_client, organization, whatsapp_linked):
    conversation = _conversation(organization)
    resp = staff_client.post(reverse("conversation-reply", args=[conversation.pk]), {
        "body": "Aquí está su fórmula", "content": SimpleUploadedFile("formula.pdf", PDF, "application/pdf")},
        HTTP_HX_REQUEST="true")
    assert resp.status_code == 200 and 'id="reply-sent"' in resp.content.decode()
    message = Message.objects.get(direction="out")
    assert (message.body, message.status, message.attachment.kind) == ("Aquí está su fórmula", MessageStatus.QUEUED,
                                                                       AttachmentKind.DOCUMENT)
    thread = staff_client.get(reverse("conversation-thread", args=[conversation.pk])).content.decode()
    assert f'data-attachment="{message.attachment.pk}"' in thread and "formula.pdf" in thread


def test_a_wrong_or_oversized_file_is_refused_in_the_reply_box(staff_client, organization, whatsapp_linked,
                                                               settings):
    conversation = _conversation(organization)
    url = reverse("conversation-reply", args=[conversation.pk])
    fake = SimpleUploadedFile("foto.png", b"<svg onload=alert(1)>", "image/png")
    resp = staff_client.post(url, {"content": fake}, HTTP_HX_REQUEST="true")
    assert 'data-field="content"' in resp.content.decode()
    settings.WHATSAPP_MEDIA_MAX_BYTES = 100
    big = SimpleUploadedFile("foto.png", png() + b"\0" * 200, "image/png")
    resp = staff_client.post(url, {"content": big}, HTTP_HX_REQUEST="true")
    assert "larger than 100\xa0bytes" in resp.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_a_file_to_an_unknown_number_is_refused(staff_user, organization, whatsapp_linked):
    MessageFactory(inbound=True, organization=organization, patient=None, phone="+573007654321")
    conversation = Conversation.objects.get(organization=organization)
    with pytest.raises(ApplicationError) as exc:
        services.conversation_reply(conversation=conversation, body="", user=staff_user,
                                    upload=SimpleUploadedFile("a.png", png(), "image/png"))
    assert exc.value.field == "content"
    assert not Message.objects.filter(direction="out").exists()
