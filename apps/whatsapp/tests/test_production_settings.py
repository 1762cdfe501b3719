"""README's production environment, end to end: link, send, receipt and reply reach Django.

gunicorn runs with the documented settings (HTTPS redirect, secure cookies, HSTS, the public host
name only) and the bridge posts its events to it on the loopback, as `make run` and PM2 set it up.
Requests that nginx would forward come with its headers (Host, X-Forwarded-Proto).
"""

import pytest
import requests

from apps.notifications.models import Direction, Message, MessageStatus
from apps.organizations.services import api_token_obtain
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.models import WhatsAppSession
from apps.whatsapp.services import session_link_start
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

README_PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "clinica.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://clinica.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_HSTS_SECONDS": "31536000",
}
THROUGH_NGINX = {"Host": "clinica.example.com", "X-Forwarded-Proto": "https"}


def test_link_send_receipt_and_reply_with_the_readme_production_settings(organization, admin_user, make_web,
                                                                         make_bridge, make_worker):
    web = make_web(env=README_PRODUCTION)
    plain = requests.get(f"{web.url}/accounts/login/", headers={"Host": "clinica.example.com"},
                         allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://clinica.example.com/")

    bridge = make_bridge(events_url=web.events_url)
    session_link_start(organization=organization, engine="sandbox")
    wait_until(lambda: bridge.status(organization.pk).get("has_qr"), message="the QR")
    qr = bridge.api("GET", f"/api/qr/{organization.pk}").json()
    assert requests.get(qr["qr_text"], params={"phone": "+573009998877"}, timeout=10).ok
    wait_until(lambda: WhatsAppSession.objects.filter(organization=organization, status="connected").exists(),
               message="the session.status events applied by the production web")
    assert bridge.api("GET", "/api/health").json()["events"]["config_error"] is None

    make_worker(bridge_url=bridge.url, env={"DJANGO_DEBUG": "0"})
    patient = PatientFactory(consenting=True, organization=organization, phone="+573001234567")
    token = api_token_obtain(user=admin_user, organization_id=organization.pk)
    sent = requests.post(f"{web.url}/api/messages/", json={"patient": patient.pk, "body": "Sus gafas están listas"},
                         headers={**THROUGH_NGINX, "Authorization": f"Token {token.key}"}, timeout=10)
    assert sent.status_code == 201, sent.text
    message_id = sent.json()["id"]
    wait_until(lambda: Message.objects.get(pk=message_id).status == MessageStatus.READ,
               message="the read receipt applied by the production web")
    assert [m["text"] for m in bridge.phone_inbox(organization.pk, patient.phone)] == ["Sus gafas están listas"]

    bridge.reply(organization.pk, patient.phone, text="Gracias, paso mañana")
    reply = wait_until(lambda: Message.objects.filter(organization=organization, direction=Direction.INBOUND).first(),
                       message="the reply applied by the production web")
    assert (reply.patient_id, reply.body) == (patient.pk, "Gracias, paso mañana")
