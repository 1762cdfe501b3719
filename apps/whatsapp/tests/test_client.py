"""The bridge client against the real bridge: answers and errors mapped to clear exceptions."""

import pytest

from apps.whatsapp.client import BridgeClient, BridgeRejected, BridgeUnavailable, SessionNotReady
from tests.processes import free_port

pytestmark = pytest.mark.django_db


def test_an_unreachable_bridge_raises_bridge_unavailable_after_its_retries():
    client = BridgeClient(base_url=f"http://127.0.0.1:{free_port()}", api_key="k", timeout=2, retries=2)
    with pytest.raises(BridgeUnavailable):
        client.health()


def test_a_wrong_key_is_a_rejection(make_bridge):
    bridge = make_bridge()
    with pytest.raises(BridgeRejected) as exc:
        BridgeClient(base_url=bridge.url, api_key="wrong").status("1")
    assert exc.value.status == 401


def test_sending_without_a_linked_session_is_session_not_ready(make_bridge):
    make_bridge()
    client = BridgeClient()
    client.start_session("77", "sandbox")
    with pytest.raises(SessionNotReady):
        client.send_message(organization_id="77", phone="+573001234567", message="Hola", client_message_id="1")


def test_bad_input_names_the_field(make_bridge):
    bridge = make_bridge()
    bridge.link("78")
    with pytest.raises(BridgeRejected) as exc:
        BridgeClient().send_message(organization_id="78", phone="not a phone", message="Hola", client_message_id="2")
    assert exc.value.field == "phone"


def test_an_organization_the_bridge_never_saw_is_disconnected_without_a_qr(make_bridge):
    make_bridge()
    status = BridgeClient().status("999")
    assert (status["status"], status["has_qr"], status["phone_number"]) == ("disconnected", False, None)
    assert BridgeClient().qr("999") is None


def test_a_linked_session_sends_and_reports_its_phone(make_bridge):
    bridge = make_bridge()
    bridge.link("79", phone="+573005550000")
    client = BridgeClient()
    assert client.status("79")["phone_number"] == "+573005550000"
    result = client.send_message(organization_id="79", phone="+573001234567", message="Hola", client_message_id="3",
                                 buttons=[{"id": "confirm:1", "title": "Confirmar"}])
    assert result.status == "sent" and result.message_id
