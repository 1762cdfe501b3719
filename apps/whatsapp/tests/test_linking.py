"""The linking page: roles, live states through the real bridge, and a bridge that is down."""

import re

import pytest
import requests
from django.urls import reverse

from apps.whatsapp.models import WhatsAppSession
from tests.processes import free_port, wait_until

pytestmark = pytest.mark.django_db


def fragment(client) -> str:
    resp = client.get(reverse("whatsapp-link-status"))
    assert resp.status_code == 200
    return resp.content.decode()


@pytest.mark.parametrize("url_name", ["whatsapp-link", "whatsapp-link-status"])
def test_staff_cannot_open_the_linking_page(staff_client, url_name):
    assert staff_client.get(reverse(url_name)).status_code == 403


def test_staff_cannot_link_or_unlink(staff_client):
    assert staff_client.post(reverse("whatsapp-link-start"), {"engine": "sandbox"}).status_code == 403
    assert staff_client.post(reverse("whatsapp-unlink")).status_code == 403


def test_the_page_explains_the_unofficial_channel_and_says_when_the_bridge_is_down(admin_client, settings):
    settings.WHATSAPP_BRIDGE_URL = f"http://127.0.0.1:{free_port()}"
    html = admin_client.get(reverse("whatsapp-link")).content.decode()
    assert 'id="unofficial-notice"' in html
    assert 'id="bridge-down"' in html
    resp = admin_client.post(reverse("whatsapp-link-start"), {"engine": "sandbox"})
    assert 'id="link-error"' in resp.content.decode()


def test_an_unknown_engine_is_refused_by_name(admin_client, make_bridge):
    make_bridge()
    html = admin_client.post(reverse("whatsapp-link-start"), {"engine": "telegram"}).content.decode()
    assert 'id="link-error"' in html
    assert not WhatsAppSession.objects.exclude(status="disconnected").exists()


def test_link_by_qr_then_unlink(admin_client, organization, make_bridge):
    make_bridge()
    html = admin_client.post(reverse("whatsapp-link-start"), {"engine": "sandbox"}).content.decode()
    assert 'hx-trigger="every 2s"' in html

    link = wait_until(lambda: (m := re.search(r'id="qr-link">([^<]+)<', fragment(admin_client))) and m.group(1),
                      message="QR")
    assert 'id="qr-image"' in fragment(admin_client)
    requests.get(link, params={"phone": "+573009998877"}, timeout=10)
    wait_until(lambda: 'data-status="connected"' in fragment(admin_client), message="connected")
    assert "+573009998877" in fragment(admin_client)
    session = WhatsAppSession.objects.get(organization=organization)
    assert (session.status, session.phone_number) == ("connected", "+573009998877")

    html = admin_client.post(reverse("whatsapp-unlink")).content.decode()
    assert 'data-status="connected"' not in html
    session.refresh_from_db()
    assert session.status in ("logged_out", "disconnected")


def test_a_pairing_code_is_offered_as_an_alternative(admin_client, make_bridge):
    make_bridge()
    html = admin_client.post(reverse("whatsapp-pairing-code"), {"phone": "300 999 8877"}).content.decode()
    assert re.search(r'id="pairing-code">[A-Z0-9-]{8,}<', html), html
    html = admin_client.post(reverse("whatsapp-pairing-code"), {"phone": "12"}).content.decode()
    assert "Enter a valid phone number" in html or "Introduzca" in html or "válido" in html


def test_one_clinic_s_page_shows_only_its_own_session(admin_client, organization, other_organization, make_bridge):
    bridge = make_bridge()
    bridge.link(other_organization.pk, phone="+573001112233")
    html = fragment(admin_client)
    assert "+573001112233" not in html
    assert 'data-status="connected"' not in html
    assert not WhatsAppSession.objects.filter(organization=other_organization).exists()
