"""The whatsmeow engine with the real neonize package: event mapping and the failing dial.

WhatsApp cannot be reached from here, so a real neonize client fails its dial at once; the
events a connected device would produce are built from neonize's own protobuf classes and
fed to the engine's registered handler, which drives a real Session, Store and event queue.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from neonize.aioze.events import (
    ConnectedEv,
    DisconnectedEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    ReceiptEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto.Neonize_pb2 import JID, MessageInfo, MessageSource
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message

from whatsapp_bridge import config
from whatsapp_bridge.engines.whatsmeow import WhatsmeowEngine, inbound_from_event
from whatsapp_bridge.events import EventQueue
from whatsapp_bridge.metrics import Metrics
from whatsapp_bridge.sessions import SessionManager
from whatsapp_bridge.store import Store

from .conftest import wait_until


def _settings(tmp_path, **env):
    base = {
        "BRIDGE_API_KEY": "k",
        "BRIDGE_DATA_DIR": str(tmp_path),
        "BRIDGE_SEND_MIN_GAP_MS": "0",
        "BRIDGE_SEND_JITTER_MS": "0",
        "BRIDGE_RECONNECT_BASE_MS": "60000",
        "BRIDGE_RECONNECT_MAX_MS": "60000",
    }
    return config.load({**base, **env})


def _manager(settings):
    store = Store(settings.state_db_path)
    factories = {"whatsmeow": lambda org, sink: WhatsmeowEngine(org, sink, store, settings.database_url)}
    return SessionManager(settings, store, EventQueue(store), Metrics(), factories), store


def _events(store):
    return [json.loads(r["body"]) for r in store.peek_events(1000)]


def _reason(name):
    return LoggedOutEv.DESCRIPTOR.fields_by_name["Reason"].enum_type.values_by_name[name].number


def _receipt(name):
    return ReceiptEv.DESCRIPTOR.fields_by_name["Type"].enum_type.values_by_name[name].number


PAIR_SUCCESS = PairStatusEv.DESCRIPTOR.fields_by_name["Status"].enum_type.values_by_name["SUCCESS"].number


def _jid(user, server="s.whatsapp.net"):
    return JID(User=user, Server=server)


def _message(text=None, sender="573001234567", from_me=False, group=False, button=None, server="s.whatsapp.net"):
    msg = Message(conversation=text) if text is not None else Message()
    if button:
        msg.buttonsResponseMessage.selectedButtonID = button
        msg.buttonsResponseMessage.selectedDisplayText = "Confirmar"
    info = MessageInfo(
        MessageSource=MessageSource(
            Chat=_jid(sender, server), Sender=_jid(sender, server), IsFromMe=from_me, IsGroup=group
        ),
        ID="3EB0ABCDEF",
        Pushname="Ana",
        Timestamp=1_767_225_600,
    )
    return MessageEv(Info=info, Message=msg)


def test_inbound_mapping_of_real_message_events():
    inbound = inbound_from_event(_message("Hola"))
    assert (inbound.phone, inbound.text, inbound.button_id, inbound.push_name) == ("+573001234567", "Hola", None, "Ana")
    assert inbound.whatsapp_id == "3EB0ABCDEF" and inbound.timestamp == "2026-01-01T00:00:00Z"
    assert inbound_from_event(_message("mine", from_me=True)) is None
    assert inbound_from_event(_message("group", group=True)) is None
    assert inbound_from_event(_message(button="confirm")).button_id == "confirm"
    lid = _message("via lid", sender="123456789", server="lid")
    lid.Info.MessageSource.SenderAlt.CopyFrom(_jid("573001234567"))
    assert inbound_from_event(lid).phone == "+573001234567"


def test_lifecycle_mapping_through_a_real_session(tmp_path):
    async def scenario():
        manager, store = _manager(_settings(tmp_path))
        session = await manager.start("70", "whatsmeow")
        engine = session.engine
        assert isinstance(engine, WhatsmeowEngine) and engine.client is not None
        # The real client cannot dial WhatsApp from here: that is a drop, retried with backoff.
        await asyncio.wait_for(_until(lambda: session.status == "reconnecting"), 10)

        await engine.on_qr(engine.client, b"2@qr-code-from-whatsmeow")
        assert session.status == "qr_ready" and session.qr_text == "2@qr-code-from-whatsmeow"
        assert session.qr_png.startswith("data:image/png;base64,")

        await engine.handle(engine.client, PairStatusEv(ID=_jid("573005550002"), Status=PAIR_SUCCESS))
        assert session.status == "connecting" and session.phone_number == "+573005550002"
        assert store.creds("70") == {"jid": "573005550002", "server": "s.whatsapp.net"}

        await engine.handle(engine.client, ConnectedEv(status=True))
        assert session.status == "connected" and store.session("70")["linked"] == 1

        # A send goes out through the real client; it fails (no device in neonize's store),
        # and the numbered fallback menu is remembered for the reply.
        buttons = [{"id": "yes", "title": "Confirmar"}, {"id": "no", "title": "Cancelar"}]
        code, body = await session.send("+573001234567", "¿Confirma?", buttons, "cm-1")
        assert code == 502 and body["status"] == "failed" and body["error_code"] == "send_failed"
        assert store.menu("70", "+573001234567") == buttons

        await engine.handle(engine.client, _message("2"))
        await engine.handle(engine.client, _message("hola"))

        store.update_send(body["message_id"], status="sent", engine_id="WAID1")
        await engine.handle(engine.client, ReceiptEv(MessageIDs=["WAID1"], Type=_receipt("DELIVERED")))
        await engine.handle(engine.client, ReceiptEv(MessageIDs=["WAID1"], Type=_receipt("READ")))
        await engine.handle(engine.client, ReceiptEv(MessageIDs=["WAID1"], Type=_receipt("DELIVERED")))

        await engine.handle(engine.client, DisconnectedEv(status=True))
        assert session.status == "reconnecting"
        await engine.handle(engine.client, ConnectedEv(status=True))
        assert session.status == "connected"

        await engine.handle(engine.client, LoggedOutEv(OnConnect=False, Reason=_reason("LOGGED_OUT")))
        assert (session.status, session.reason, session.phone_number) == ("logged_out", "device_removed", None)
        assert store.creds("70") is None and store.session("70")["linked"] == 0

        events = _events(store)
        await manager.shutdown()
        return events

    events = asyncio.run(scenario())
    statuses = [(e["data"]["status"], e["data"]["reason"]) for e in events if e["type"] == "session.status"]
    assert statuses == [
        ("connecting", None),
        ("reconnecting", None),
        ("qr_ready", None),
        ("connecting", None),
        ("connected", None),
        ("reconnecting", None),
        ("connected", None),
        ("logged_out", "device_removed"),
    ]
    inbound = [e["data"] for e in events if e["type"] == "message.inbound"]
    assert [(m["text"], m["button_id"]) for m in inbound] == [("2", "no"), ("hola", None)]
    receipts = [e["data"]["status"] for e in events if e["type"] == "message.status"]
    assert receipts == ["failed", "delivered", "read"]


@pytest.mark.parametrize(
    ("event", "status", "reason"),
    [
        (StreamReplacedEv(), "failed", "replaced"),
        (TemporaryBanEv(Code=1, Expire=3600), "failed", "banned"),
        (LoggedOutEv(Reason=_reason("UNKNOWN_LOGOUT")), "logged_out", "banned"),
    ],
)
def test_terminal_events(tmp_path, event, status, reason):
    async def scenario():
        manager, store = _manager(_settings(tmp_path))
        session = await manager.start("71", "whatsmeow")
        await session.engine.handle(session.engine.client, PairStatusEv(ID=_jid("573005550003"), Status=PAIR_SUCCESS))
        await session.engine.handle(session.engine.client, ConnectedEv(status=True))
        await session.engine.handle(session.engine.client, event)
        result = (session.status, session.reason)
        await manager.shutdown()
        return result

    assert asyncio.run(scenario()) == (status, reason)


def test_real_client_dial_failures_back_off_then_fail(tmp_path):
    settings = _settings(
        tmp_path,
        BRIDGE_RECONNECT_BASE_MS="100",
        BRIDGE_RECONNECT_MAX_MS="400",
        BRIDGE_RECONNECT_MAX_ATTEMPTS="3",
    )

    async def scenario():
        manager, store = _manager(settings)
        started = time.monotonic()
        session = await manager.start("72", "whatsmeow")
        await asyncio.wait_for(_until(lambda: session.status == "failed"), 20)
        elapsed = time.monotonic() - started
        result = (session.status, session.reason, session.attempts, elapsed, _events(store))
        await manager.shutdown()
        return result

    status, reason, attempts, elapsed, events = asyncio.run(scenario())
    assert (status, reason) == ("failed", "retries_exhausted")
    assert attempts == 4
    # 0.1 + 0.2 + 0.4 s of backoff, each drawn with +-20 % jitter
    assert elapsed >= 0.5
    assert [e["data"]["status"] for e in events] == ["connecting", "reconnecting", "failed"]


def test_whatsmeow_through_the_bridge_process(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_RECONNECT_MAX_ATTEMPTS": "2"})
    resp = bridge.client.post("/api/start-session", json={"organization_id": "81", "engine": "whatsmeow"})
    assert resp.status_code == 200 and resp.json()["engine"] == "whatsmeow"
    status = bridge.wait_status("81", "failed", timeout=20)
    assert status["reason"] == "retries_exhausted"
    wait_until(lambda: "failed" in receiver.statuses("81"), message="failed event")
    assert receiver.statuses("81") == ["connecting", "reconnecting", "failed"]
    assert bridge.send("81").status_code == 409


async def _until(condition, interval=0.02):
    while not condition():
        await asyncio.sleep(interval)
