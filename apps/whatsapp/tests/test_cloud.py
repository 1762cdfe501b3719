"""The WhatsApp Business Cloud API from the clinic's side: connect, remind by template, replies and statuses.

Everything runs for real (Django's live server, the worker, the bridge process) except Meta,
replaced by the local Graph API server of whatsapp_bridge/tests/graph_server.py.
"""

import pytest
from django.urls import reverse

from apps.appointments.models import ConfirmationStatus
from apps.notifications.models import Message, MessageKind, MessageStatus, MessageTemplate, Reminder
from apps.notifications.tasks import dispatch_due_reminders
from apps.notifications.tests.conftest import book, exam, local, patient, provider  # noqa: F401
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.models import WhatsAppSession
from tests.processes import wait_until
from whatsapp_bridge.tests.graph_server import status_error

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "EAAG" + "t" * 60
APP_SECRET = "fedcba9876543210fedcba9876543210"
PHONE_NUMBER_ID = "109876543210987"


@pytest.fixture
def account(graph):
    return graph.add_account(phone_number_id=PHONE_NUMBER_ID, token=TOKEN, app_secret=APP_SECRET,
                             display="+57 601 5550100", waba_id="102290129340398")


def credentials(**overrides):
    return {"phone_number_id": PHONE_NUMBER_ID, "waba_id": "102290129340398", "access_token": TOKEN,
            "app_secret": APP_SECRET, "verify_token": "optica-verify-token", **overrides}


def connect(admin_client):
    resp = admin_client.post(reverse("whatsapp-cloud-connect"), credentials())
    assert resp.status_code == 302, resp.content.decode()[:2000]


def test_an_admin_connects_the_cloud_api_with_credentials_not_a_qr(admin_client, organization, other_organization,
                                                                    cloud_bridge, account):
    page = admin_client.get(reverse("whatsapp-link")).content.decode()
    assert 'id="cloud-form"' in page and 'name="access_token"' in page

    refused = admin_client.post(reverse("whatsapp-cloud-connect"), credentials(access_token="EAAG" + "w" * 40))
    assert refused.status_code == 400
    assert 'data-field="access_token"' in refused.content.decode()
    malformed = admin_client.post(reverse("whatsapp-cloud-connect"), credentials(phone_number_id="abc"))
    assert 'data-field="phone_number_id"' in malformed.content.decode()
    assert WhatsAppSession.objects.filter(organization=organization, status="connected").count() == 0

    connect(admin_client)
    html = admin_client.get(reverse("whatsapp-link-status")).content.decode()
    assert 'data-status="connected"' in html and "+576015550100" in html
    assert 'data-quality="GREEN"' in html and 'data-tier="TIER_250"' in html
    assert 'id="cloud-webhook-url"' in html and "/webhooks/whatsapp" in html
    assert 'id="qr-image"' not in html and "pairing-code" not in html and 'id="link-button"' not in html
    # The credentials can still be replaced (a rotated token), behind a closed section.
    page = admin_client.get(reverse("whatsapp-link")).content.decode()
    assert 'id="cloud-update"' in page and 'id="cloud-update" open' not in page and 'id="cloud-form"' in page
    rotated = admin_client.post(reverse("whatsapp-cloud-connect"), credentials())
    assert rotated.status_code == 302
    assert WhatsAppSession.objects.get(organization=organization).status == "connected"
    session = WhatsAppSession.objects.get(organization=organization)
    assert (session.engine, session.quality_rating, session.messaging_limit_tier) == ("cloud", "GREEN", "TIER_250")
    # Django keeps none of the secrets; the other clinic is untouched.
    for row in WhatsAppSession.objects.values():
        assert TOKEN not in str(row) and APP_SECRET not in str(row)
    assert not WhatsAppSession.objects.filter(organization=other_organization).exclude(status="disconnected").exists()


def test_staff_cannot_connect_the_cloud_api(staff_client):
    assert staff_client.post(reverse("whatsapp-cloud-connect"), credentials()).status_code == 403


def map_reminder_template(admin_client, **overrides):
    data = {"body": "Hola {patient_first_name}, su cita es el {date} a las {time}.",
            "meta_template_name": "recordatorio_cita", "meta_language": "es",
            "meta_parameters": "patient_first_name, date, time", "meta_quick_replies": "on", **overrides}
    return admin_client.post(reverse("message-template-edit", args=["reminder", "es"]), data)


def test_the_reminder_template_mapping_is_validated_and_kept_per_clinic(admin_client, organization,
                                                                         other_organization):
    bad = map_reminder_template(admin_client, meta_parameters="patient_first_name, shoe_size")
    assert bad.status_code == 400 and 'data-field="meta_parameters"' in bad.content.decode()
    no_language = map_reminder_template(admin_client, meta_language="")
    assert 'data-field="meta_language"' in no_language.content.decode()
    bad_name = map_reminder_template(admin_client, meta_template_name="Recordatorio Cita")
    assert 'data-field="meta_template_name"' in bad_name.content.decode()
    assert not MessageTemplate.objects.exists()

    assert map_reminder_template(admin_client).status_code == 302
    template = MessageTemplate.objects.get()
    assert template.organization == organization
    assert (template.meta_template_name, template.meta_language, template.meta_quick_replies) == (
        "recordatorio_cita", "es", True)
    page = admin_client.get(reverse("message-template-edit", args=["reminder", "es"])).content.decode()
    assert 'value="recordatorio_cita"' in page
    assert not MessageTemplate.objects.filter(organization=other_organization).exists()


def test_remind_by_template_then_the_tap_confirms_and_statuses_arrive(admin_client, organization, cloud_bridge,
                                                                      account, graph, make_worker, book):  # noqa: F811
    connect(admin_client)
    assert map_reminder_template(admin_client).status_code == 302
    make_worker(bridge_url=cloud_bridge.url)
    juan = PatientFactory(consenting=True, organization=organization, first_name="Juan", phone="+573001234567")
    appointment = book(local(4, 10), who=juan)
    due = wait_until(lambda: Reminder.objects.filter(appointment=appointment, status="pending").first(),
                     message="the planned reminder")
    dispatch_due_reminders.defer(timestamp=int(due.due_at.timestamp()))

    reminder = wait_until(lambda: Message.objects.filter(appointment=appointment, kind=MessageKind.REMINDER,
                                                         status=MessageStatus.SENT).first(),
                          message="the reminder to be sent")
    [sent] = graph.sent
    assert sent["type"] == "template" and sent["template"]["name"] == "recordatorio_cita"
    body, *buttons = sent["template"]["components"]
    assert body["parameters"][0] == {"type": "text", "text": "Juan"}
    assert body["parameters"][2] == {"type": "text", "text": "10:00"}
    assert [b["parameters"][0]["payload"] for b in buttons] == [
        f"confirm:{appointment.pk}", f"cancel:{appointment.pk}", f"callback:{appointment.pk}"]

    # Meta's statuses, out of order and repeated, only move the message forward.
    for status in ("delivered", "sent", "delivered"):
        assert graph.post(graph.status(account, sent, status), APP_SECRET).status_code == 200
    wait_until(lambda: Message.objects.get(pk=reminder.pk).status == MessageStatus.DELIVERED, message="delivered")

    tap = graph.user_message(account, juan.phone, {"type": "button", "context": {"id": sent["wamid"]},
                                                   "button": {"payload": f"confirm:{appointment.pk}",
                                                              "text": "Confirmar"}})
    graph.post(tap, APP_SECRET)
    graph.post(tap, APP_SECRET)
    wait_until(lambda: type(appointment).objects.get(pk=appointment.pk).confirmation == ConfirmationStatus.CONFIRMED,
               message="the appointment to be confirmed")
    [reply] = Message.objects.filter(direction="in", appointment=appointment)
    assert reply.reply_to_id == reminder.pk
    # The tap opened the 24 h window, so the acknowledgement goes as plain text.
    wait_until(lambda: len(graph.sent) == 2, message="the acknowledgement")
    assert graph.sent[1]["type"] == "text" and graph.sent[1]["text"]["body"].startswith("¡Gracias, Juan!")

    graph.post(graph.status(account, graph.sent[1], "failed", errors=[status_error(131026)]), APP_SECRET)
    ack = Message.objects.get(reply_to=reply)
    wait_until(lambda: Message.objects.get(pk=ack.pk).status == MessageStatus.FAILED, message="failed status")
    ack.refresh_from_db()
    assert ack.error_code == "131026" and "Message undeliverable" in ack.error


def test_free_text_outside_the_window_fails_with_a_reason_and_nothing_reaches_meta(admin_client, organization,
                                                                                   cloud_bridge, account, graph,
                                                                                   make_worker):
    connect(admin_client)
    make_worker(bridge_url=cloud_bridge.url)
    ana = PatientFactory(consenting=True, organization=organization, first_name="Ana", phone="+573007654321")
    resp = admin_client.post(reverse("patient-whatsapp-send", args=[ana.pk]), {"body": "¿Puede venir hoy?"})
    assert resp.status_code == 200
    message = Message.objects.get(patient=ana)
    wait_until(lambda: Message.objects.get(pk=message.pk).status == MessageStatus.FAILED, message="refusal")
    message.refresh_from_db()
    assert message.error_code == "outside_window" and "24" in message.error
    assert graph.sent == []
