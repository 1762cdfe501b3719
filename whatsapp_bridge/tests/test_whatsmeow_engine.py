"""The whatsmeow engine with the real neonize package, each client in its own worker process.

WhatsApp cannot be reached from here, so a real neonize client fails its dial at once; the
events a connected device would produce are built from neonize's own protobuf classes, turned
into facts by the same code the worker runs, and fed to the engine, which drives a real
Session, Store and event queue. Worker processes are real: spawned, crashed, restarted.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sqlite3

import pytest
from neonize.aioze.events import (
    ConnectedEv,
    DisconnectedEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
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
from whatsapp_bridge.engines import whatsmeow_store
from whatsapp_bridge.engines.whatsmeow import WhatsmeowEngine
from whatsapp_bridge.engines.whatsmeow_events import fact_of, inbound_fact
from whatsapp_bridge.events import EventQueue
from whatsapp_bridge.media import MediaStore
from whatsapp_bridge.metrics import Metrics
from whatsapp_bridge.sessions import SessionManager
from whatsapp_bridge.store import Store
from whatsapp_bridge.workers import WorkerRegistry, proc_figures

from .conftest import wait_until


def _settings(tmp_path, **env):
    base = {
        "BRIDGE_API_KEY": "k",
        "BRIDGE_DATA_DIR": str(tmp_path),
        "BRIDGE_SEND_MIN_GAP_MS": "0",
        "BRIDGE_SEND_JITTER_MS": "0",
        "BRIDGE_SEND_TYPING_MS": "0",
        "BRIDGE_RECONNECT_BASE_MS": "60000",
        "BRIDGE_RECONNECT_MAX_MS": "60000",
    }
    return config.load({**base, **env})


def _manager(settings, registry=None, **engine_options):
    store = Store(settings.state_db_path)
    registry = registry or WorkerRegistry()
    factories = {
        "whatsmeow": lambda org, sink: WhatsmeowEngine(
            org, sink, store, settings.database_url, registry, **engine_options
        ),
    }
    media = MediaStore(settings.media_dir, store)
    manager = SessionManager(settings, store, EventQueue(store), Metrics(), factories, media)
    return manager, store, registry


def _events(store):
    return [json.loads(r["body"]) for r in store.peek_events(1000)]


def _reason(name):
    return LoggedOutEv.DESCRIPTOR.fields_by_name["Reason"].enum_type.values_by_name[name].number


def _receipt(name):
    return ReceiptEv.DESCRIPTOR.fields_by_name["Type"].enum_type.values_by_name[name].number


PAIR_SUCCESS = PairStatusEv.DESCRIPTOR.fields_by_name["Status"].enum_type.values_by_name["SUCCESS"].number


def _jid(user, server="s.whatsapp.net", device=0):
    return JID(User=user, Server=server, Device=device)


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


def feed(engine, ev):
    """What the worker does with a neonize event: a fact, handed to the bridge's engine."""
    fact = fact_of(ev)
    if fact is not None:
        engine._on_fact(fact)


async def _until(condition, timeout=60.0, interval=0.02):
    async def loop():
        while not condition():
            await asyncio.sleep(interval)

    await asyncio.wait_for(loop(), timeout)


# mapping -----------------------------------------------------------------------------------


def test_text_buttons_and_lid_senders_map_to_patients_and_never_to_invented_phones():
    inbound = inbound_fact(_message("Hola"))
    assert (inbound["phone_digits"], inbound["text"], inbound["button_id"]) == ("573001234567", "Hola", None)
    assert inbound["whatsapp_id"] == "3EB0ABCDEF" and inbound["timestamp"] == "2026-01-01T00:00:00Z"
    assert inbound_fact(_message("mine", from_me=True)) is None
    assert inbound_fact(_message("group", group=True)) is None
    assert inbound_fact(_message(button="confirm"))["button_id"] == "confirm"
    lid = _message("via lid", sender="123456789", server="lid")
    lid.Info.MessageSource.SenderAlt.CopyFrom(_jid("573001234567"))
    assert inbound_fact(lid)["phone_digits"] == "573001234567"
    # Without SenderAlt the LID's digits are not a phone number.
    bare = _message("via lid", sender="123456789012345", server="lid")
    fact = inbound_fact(bare)
    assert fact["phone_digits"] is None and fact["lid"] == "123456789012345@lid"
    assert inbound_fact(bare, resolve_lid=lambda _jid: "573009998877")["phone_digits"] == "573009998877"


def test_images_documents_voice_notes_locations_list_replies_and_quotes_are_not_dropped():
    image = _message()
    image.Message.imageMessage.caption = "1"
    image.Message.imageMessage.mimetype = "image/jpeg"
    image.Message.imageMessage.fileLength = 2048
    image.Message.imageMessage.contextInfo.stanzaID = "3EB0QUOTED"
    fact = inbound_fact(image)
    assert fact["text"] == "1" and fact["media"]["kind"] == "image" and fact["reply_to"] == "3EB0QUOTED"

    doc = _message()
    doc.Message.documentMessage.fileName = "formula.pdf"
    doc.Message.documentMessage.mimetype = "application/pdf"
    fact = inbound_fact(doc)
    assert fact["media"]["kind"] == "document" and fact["media"]["filename"] == "formula.pdf"

    voice = _message()
    voice.Message.audioMessage.PTT = True
    voice.Message.audioMessage.mimetype = "audio/ogg; codecs=opus"
    voice.Message.audioMessage.seconds = 7
    fact = inbound_fact(voice)
    assert fact["media"]["kind"] == "audio" and fact["media"]["voice"] is True

    where = _message()
    where.Message.locationMessage.degreesLatitude = 4.711
    where.Message.locationMessage.degreesLongitude = -74.072
    where.Message.locationMessage.name = "Óptica Centro"
    fact = inbound_fact(where)
    assert fact["location"]["latitude"] == pytest.approx(4.711) and "Óptica Centro" in fact["text"]

    listed = _message()
    listed.Message.listResponseMessage.title = "Martes 10:00"
    listed.Message.listResponseMessage.singleSelectReply.selectedRowID = "slot-42"
    fact = inbound_fact(listed)
    assert (fact["text"], fact["button_id"]) == ("Martes 10:00", "slot-42")

    quoted = _message()
    quoted.Message.extendedTextMessage.text = "Sí, confirmo"
    quoted.Message.extendedTextMessage.contextInfo.stanzaID = "3EB0OURS"
    assert inbound_fact(quoted)["reply_to"] == "3EB0OURS"


def test_temporary_ban_keeps_whatsapps_code_and_expiry():
    fact = fact_of(TemporaryBanEv(Code=1, Expire=3600))
    assert fact["reason"] == "temporary_ban"
    assert fact["detail"]["ban_code"] == 101 and fact["detail"]["ban_reason"] == "send_to_too_many_people"
    assert fact["detail"]["expires_at"].endswith("Z")


# sessions with real worker processes --------------------------------------------------------


def test_lifecycle_through_a_real_session_and_worker(tmp_path):
    async def scenario():
        manager, store, registry = _manager(_settings(tmp_path))
        session = await manager.start("70", "whatsmeow")
        engine = session.engine
        assert isinstance(engine, WhatsmeowEngine)
        # The real client in its worker cannot dial WhatsApp from here: retried with backoff.
        await _until(lambda: session.status == "reconnecting")
        worker_pid = engine.worker.pid
        assert worker_pid != os.getpid() and registry.snapshot()[0]["rss_bytes"] > 0

        engine._on_fact({"fact": "qr", "text": "2@qr-code-from-whatsmeow"})
        assert session.status == "qr_ready" and session.qr_png.startswith("data:image/png;base64,")

        feed(engine, PairStatusEv(ID=_jid("573005550002", device=12), Status=PAIR_SUCCESS))
        assert session.status == "connecting" and session.phone_number == "+573005550002"
        # The device number is kept: resuming `573005550002@s.whatsapp.net` finds no device.
        assert store.creds("70")["jid"] == {"user": "573005550002", "device": 12, "server": "s.whatsapp.net"}

        feed(engine, ConnectedEv(status=True))
        assert session.status == "connected" and store.session("70")["linked"] == 1

        # A send goes to the real worker, whose real client is not connected: a failure with
        # a reason, and the numbered fallback menu is remembered for the reply.
        buttons = [{"id": "yes", "title": "Confirmar"}, {"id": "no", "title": "Cancelar"}]
        code, body = await session.send("+573001234567", "¿Confirma?", buttons, "cm-1")
        assert code == 502 and body["status"] == "failed" and body["error_code"] in ("not_connected", "send_failed")
        assert store.menu("70", "+573001234567") == buttons

        feed(engine, _message("2"))
        feed(engine, _message("hola"))

        store.update_send(body["message_id"], status="sent", engine_id="WAID1")
        feed(engine, ReceiptEv(MessageIDs=["WAID1"], Type=_receipt("DELIVERED")))
        feed(engine, ReceiptEv(MessageIDs=["WAID1"], Type=_receipt("READ")))

        feed(engine, LoggedOutEv(OnConnect=False, Reason=_reason("LOGGED_OUT")))
        assert (session.status, session.reason, session.phone_number) == ("logged_out", "device_removed", None)
        assert store.creds("70") is None and store.session("70")["linked"] == 0
        events = _events(store)
        await manager.shutdown()
        return events, worker_pid

    events, worker_pid = asyncio.run(scenario())
    statuses = [(e["data"]["status"], e["data"]["reason"]) for e in events if e["type"] == "session.status"]
    assert statuses == [
        ("connecting", None),
        ("reconnecting", None),
        ("qr_ready", None),
        ("connecting", None),
        ("connected", None),
        ("logged_out", "device_removed"),
    ]
    inbound = [e["data"] for e in events if e["type"] == "message.inbound"]
    assert [(m["text"], m["button_id"]) for m in inbound] == [("2", "no"), ("hola", None)]
    assert [e["data"]["status"] for e in events if e["type"] == "message.status"] == ["failed", "delivered", "read"]
    with pytest.raises(ProcessLookupError):
        os.kill(worker_pid, 0)  # stopped with its session


def test_keepalive_timeout_on_a_linked_session_lets_whatsmeow_reconnect_without_a_rebuild(tmp_path):
    async def scenario():
        manager, store, registry = _manager(_settings(tmp_path))
        session = await manager.start("73", "whatsmeow")
        engine = session.engine
        await _until(lambda: engine.worker is not None and engine.worker.pid is not None)
        feed(engine, PairStatusEv(ID=_jid("573005550004", device=3), Status=PAIR_SUCCESS))
        feed(engine, ConnectedEv(status=True))
        pid = engine.worker.pid
        feed(engine, KeepAliveTimeoutEv(ErrorCount=1))
        assert session.status == "reconnecting" and "reconnect" not in session._timers
        feed(engine, DisconnectedEv(status=True))
        feed(engine, KeepAliveRestoredEv())
        result = (session.status, engine.worker.pid, registry.spawns["73"])
        await manager.shutdown()
        return result, pid

    (status, pid_after, spawns), pid_before = asyncio.run(scenario())
    assert status == "connected" and pid_after == pid_before and spawns == 1


DEVICE_INSERT = (
    "INSERT INTO whatsmeow_device (jid, registration_id, noise_key, identity_key, signed_pre_key, "
    "signed_pre_key_id, signed_pre_key_sig, adv_key, adv_details, adv_account_sig, adv_account_sig_key, "
    "adv_device_sig) VALUES (?, 1, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)"
)


def _device_row(jid: str) -> tuple:
    """A device row as whatsmeow writes it on pairing (keys are random, lengths are whatsmeow's)."""
    return (jid, os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(64), b"", b"",
            os.urandom(64), os.urandom(32), os.urandom(64))


def _store_device(database_url: str, jid: str) -> None:
    with sqlite3.connect(database_url) as db:
        db.execute(DEVICE_INSERT, _device_row(jid))


def test_restart_with_a_stored_device_resumes_it_and_a_missing_device_is_a_logout_not_a_crash(tmp_path):
    settings = _settings(tmp_path)

    async def link():
        manager, store, _ = _manager(settings)
        session = await manager.start("74", "whatsmeow")
        await _until(lambda: session.status == "reconnecting")  # whatsmeow has created its tables
        feed(session.engine, PairStatusEv(ID=_jid("573005550005", device=12), Status=PAIR_SUCCESS))
        feed(session.engine, ConnectedEv(status=True))
        _store_device(settings.database_url, "573005550005:12@s.whatsapp.net")
        # An older bridge's row: only user and server, no device number.
        store.save_session("75", engine="whatsmeow", status="connected", linked=1,
                           creds={"jid": "573005550006", "server": "s.whatsapp.net"})
        _store_device(settings.database_url, "573005550006:4@s.whatsapp.net")
        # A linked row whose device whatsmeow no longer has.
        store.save_session("76", engine="whatsmeow", status="connected", linked=1,
                           creds={"jid": {"user": "573005550007", "device": 9, "server": "s.whatsapp.net"}})
        await manager.shutdown()

    async def restart():
        manager, store, registry = _manager(settings)
        await manager.boot()
        resumed, old, missing = manager.get("74"), manager.get("75"), manager.get("76")
        await _until(lambda: resumed.status == "reconnecting" and old.status == "reconnecting")
        figures = [(resumed.engine.worker.pid, resumed.engine.worker.returncode)]
        result = {
            "resumed": resumed.status,
            "old": (old.status, store.creds("75")["jid"]),
            "missing": (missing.status, missing.reason, store.creds("76")),
            "alive": figures[0][0] is not None,
            "crashes": sum(registry.crashes.values()),
        }
        await manager.shutdown()
        return result

    asyncio.run(link())
    result = asyncio.run(restart())
    assert result["resumed"] == "reconnecting" and result["alive"] and result["crashes"] == 0
    with sqlite3.connect(settings.database_url) as db:
        # Many worker processes share this file: readers must not block the writer.
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert result["old"] == ("reconnecting", {"user": "573005550006", "device": 4, "server": "s.whatsapp.net"})
    assert result["missing"] == ("logged_out", "device_missing", None)


def test_logout_while_reconnecting_deletes_the_device_row_and_its_keys(tmp_path):
    settings = _settings(tmp_path)

    async def scenario():
        manager, store, _ = _manager(settings)
        session = await manager.start("77", "whatsmeow")
        await _until(lambda: session.status == "reconnecting")
        feed(session.engine, PairStatusEv(ID=_jid("573005550008", device=2), Status=PAIR_SUCCESS))
        _store_device(settings.database_url, "573005550008:2@s.whatsapp.net")
        with sqlite3.connect(settings.database_url) as db:
            db.execute("INSERT INTO whatsmeow_sessions VALUES (?, ?, ?)",
                       ("573005550008:2@s.whatsapp.net", "573001234567.0", b"signal-session"))
        feed(session.engine, DisconnectedEv(status=True))
        assert session.status == "reconnecting"
        await session.logout()
        result = session.status, store.creds("77")
        await manager.shutdown()
        return result

    assert asyncio.run(scenario()) == ("logged_out", None)
    with sqlite3.connect(settings.database_url) as db:
        assert db.execute("SELECT COUNT(*) FROM whatsmeow_device").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM whatsmeow_sessions").fetchone()[0] == 0
    assert whatsmeow_store.find_device(settings.database_url, {"user": "573005550008", "device": 2}) is None


def test_a_crashed_worker_costs_its_clinic_a_reconnect_and_nobody_else_anything(tmp_path):
    settings = _settings(tmp_path, BRIDGE_RECONNECT_BASE_MS="3000", BRIDGE_RECONNECT_MAX_MS="3000")

    async def scenario():
        manager, store, registry = _manager(settings)
        a = await manager.start("78", "whatsmeow")
        b = await manager.start("79", "whatsmeow")
        await _until(lambda: a.status == b.status == "reconnecting")  # the real dials failed
        await _until(lambda: a.engine.worker and b.engine.worker and a.engine.worker.pid and b.engine.worker.pid)
        feed(a.engine, ConnectedEv(status=True))
        feed(b.engine, ConnectedEv(status=True))
        b_pid = b.engine.worker.pid
        os.kill(a.engine.worker.pid, signal.SIGABRT)  # what a Go fatal error does
        await _until(lambda: registry.crashes.get("78") == 1)
        await _until(lambda: registry.spawns["78"] == 2)  # restarted after the backoff
        result = (a.status, b.status, b.engine.worker.pid == b_pid, registry.crashes.get("79", 0))
        await manager.shutdown()
        return result

    a_status, b_status, b_same_worker, b_crashes = asyncio.run(scenario())
    assert a_status in ("connecting", "reconnecting") and b_status == "connected"
    assert b_same_worker and b_crashes == 0


def test_forty_clinics_connecting_and_stopping_at_once_do_not_take_the_bridge_down(tmp_path):
    async def scenario():
        manager, store, registry = _manager(_settings(tmp_path))
        sessions = await asyncio.gather(*(manager.start(str(100 + i), "whatsmeow") for i in range(40)))
        await _until(lambda: all(s.status == "reconnecting" for s in sessions), timeout=240)
        await asyncio.gather(*(s.engine.stop() for s in sessions[:20]))
        await asyncio.gather(*(s.engine.start() for s in sessions[:20]))
        await _until(lambda: all(s.status == "reconnecting" for s in sessions), timeout=240)
        crashes = sum(registry.crashes.values())
        await manager.shutdown()
        return crashes, registry.snapshot()

    crashes, rows = asyncio.run(scenario())
    assert crashes == 0 and len(rows) == 40 and not any(r["alive"] for r in rows)


def test_connect_attempts_leak_no_store_connections_into_the_bridge(tmp_path):
    settings = _settings(tmp_path, BRIDGE_RECONNECT_BASE_MS="50", BRIDGE_RECONNECT_MAX_MS="50",
                         BRIDGE_RECONNECT_MAX_ATTEMPTS="1000")

    async def scenario():
        manager, store, registry = _manager(settings)
        session = await manager.start("80", "whatsmeow")
        await _until(lambda: registry.spawns.get("80", 0) >= 3, timeout=120)
        before = proc_figures()["fds"]
        worker_fds = []
        await _until(lambda: registry.spawns["80"] >= 8, timeout=240)
        for _ in range(20):
            w = session.engine.worker
            if w is not None and w.pid:
                worker_fds.append(proc_figures(w.pid)["fds"])
            await asyncio.sleep(0.05)
        after = proc_figures()["fds"]
        await manager.shutdown()
        return before, after, worker_fds

    before, after, worker_fds = asyncio.run(scenario())
    # Each attempt is a fresh process: its store handle goes with it.
    assert after <= before + 2
    assert worker_fds and max(worker_fds) < 40


def test_a_replaced_client_garbage_collected_does_not_stop_its_replacement(tmp_path):
    async def scenario():
        manager, store, registry = _manager(_settings(tmp_path))
        session = await manager.start("82", "whatsmeow")
        await _until(lambda: session.status == "reconnecting")
        feed(session.engine, ConnectedEv(status=True))
        first, first_uuid = session.engine.worker, session.engine.uuid
        await session.engine.start()  # a rebuild, as after a failed attempt
        second, second_uuid = session.engine.worker, session.engine.uuid
        await _until(lambda: second.pid is not None and session.engine._ping_task is not None)
        del first
        gc.collect()
        await asyncio.sleep(0.5)
        answer = await second.call("ping")
        result = (second.exited.is_set(), answer["pid"] == second.pid, registry.spawns["82"])
        await manager.shutdown()
        return result, first_uuid, second_uuid

    result, first_uuid, second_uuid = asyncio.run(scenario())
    assert result == (False, True, 2)
    assert first_uuid != second_uuid and all(u.startswith("org-82-") for u in (first_uuid, second_uuid))


def test_a_wedged_worker_misses_its_health_ping_and_is_replaced(tmp_path):
    settings = _settings(tmp_path, BRIDGE_RECONNECT_BASE_MS="100", BRIDGE_RECONNECT_MAX_MS="100")

    async def scenario():
        manager, store, registry = _manager(settings, ping_interval_s=0.3, ping_timeout_s=1.0)
        session = await manager.start("85", "whatsmeow")
        await _until(lambda: session.status == "reconnecting")
        feed(session.engine, ConnectedEv(status=True))
        wedged = session.engine.worker
        os.kill(wedged.pid, signal.SIGSTOP)  # a Go deadlock looks like this from outside
        await _until(lambda: wedged.exited.is_set())
        await _until(lambda: registry.spawns["85"] >= 2)
        result = (wedged.returncode, registry.crashes.get("85"))
        await manager.shutdown()
        return result

    assert asyncio.run(scenario()) == (-signal.SIGKILL, 1)


def test_sends_with_media_go_to_the_worker_and_fail_with_a_reason_while_offline(tmp_path):
    from whatsapp_bridge.engines.base import Media

    async def scenario():
        manager, store, _ = _manager(_settings(tmp_path))
        session = await manager.start("86", "whatsmeow")
        await _until(lambda: session.status == "reconnecting")
        feed(session.engine, ConnectedEv(status=True))
        store.contact_seen("86", "+573001234567")
        pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
        media = Media(kind="document", mime_type="application/pdf", data=pdf, filename="formula.pdf")
        code, body = await session.send("+573001234567", "Su fórmula", None, "rx-1", media=media)
        alive = session.engine.worker is not None and not session.engine.worker.exited.is_set()
        await manager.shutdown()
        return code, body, alive

    code, body, alive = asyncio.run(scenario())
    assert code == 502 and body["status"] == "failed" and body["error"] and alive


def test_workers_run_with_the_bot_tag_off(tmp_path):
    async def scenario():
        manager, store, _ = _manager(_settings(tmp_path))
        session = await manager.start("83", "whatsmeow")
        await _until(lambda: session.engine.worker is not None and session.engine.worker.pid is not None)
        with open(f"/proc/{session.engine.worker.pid}/environ", "rb") as env:
            environ = dict(item.split(b"=", 1) for item in env.read().split(b"\0") if b"=" in item)
        await manager.shutdown()
        return environ

    environ = asyncio.run(scenario())
    assert environ[b"NEONIZE_BOT_TAG"] == b"off"
    assert b"BRIDGE_API_KEY" not in environ


@pytest.mark.parametrize(
    ("event", "status", "reason"),
    [
        (StreamReplacedEv(), "failed", "replaced"),
        (TemporaryBanEv(Code=1, Expire=3600), "failed", "temporary_ban"),
        (LoggedOutEv(Reason=_reason("UNKNOWN_LOGOUT")), "logged_out", "banned"),
    ],
)
def test_terminal_events(tmp_path, event, status, reason):
    async def scenario():
        manager, store, _ = _manager(_settings(tmp_path))
        session = await manager.start("71", "whatsmeow")
        feed(session.engine, PairStatusEv(ID=_jid("573005550003"), Status=PAIR_SUCCESS))
        feed(session.engine, ConnectedEv(status=True))
        feed(session.engine, event)
        result = (session.status, session.reason, session.reason_detail, _events(store))
        await manager.shutdown()
        return result

    got_status, got_reason, detail, events = asyncio.run(scenario())
    assert (got_status, got_reason) == (status, reason)
    if reason == "temporary_ban":
        assert detail["ban_code"] == 101
        assert events[-1]["data"]["detail"]["ban_code"] == 101


def test_number_checks_and_reach_out_restrictions_are_failure_reasons(tmp_path):
    async def scenario():
        manager, store, _ = _manager(_settings(tmp_path))
        session = await manager.start("84", "whatsmeow")
        engine = session.engine
        await _until(lambda: session.status == "reconnecting")
        feed(engine, PairStatusEv(ID=_jid("573005550009", device=1), Status=PAIR_SUCCESS))
        feed(engine, ConnectedEv(status=True))

        async def no_whatsapp(phone):
            return phone != "+573000000000"

        engine.on_whatsapp = no_whatsapp  # the answer WhatsApp's usync query would give
        code, body = await session.send("+573000000000", "Hola", None, "new-1")
        not_on = (code, body["error_code"])
        engine._save_creds(restricted_until=9_999_999_999)
        code, body = await session.send("+573001111111", "Hola", None, "new-2")
        restricted = (code, body["error_code"], body["error"])
        store.contact_seen("84", "+573002222222")  # a patient who wrote first
        code, body = await session.send("+573002222222", "Hola", None, "old-1")
        replied = body["error_code"]
        events = [e["data"] for e in _events(store) if e["type"] == "message.status"]
        await manager.shutdown()
        return not_on, restricted, replied, events

    not_on, restricted, replied, events = asyncio.run(scenario())
    assert not_on == (502, "not_on_whatsapp")
    assert restricted[:2] == (502, "reachout_timelocked") and "463" in restricted[2]
    assert replied != "reachout_timelocked"  # replies to existing chats are not held back
    assert [e["error_code"] for e in events][:2] == ["not_on_whatsapp", "reachout_timelocked"]


def test_whatsmeow_through_the_bridge_process(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_RECONNECT_MAX_ATTEMPTS": "2"})
    resp = bridge.client.post("/api/start-session", json={"organization_id": "81", "engine": "whatsmeow"})
    assert resp.status_code == 200 and resp.json()["engine"] == "whatsmeow"
    workers = wait_until(lambda: bridge.client.get("/api/workers").json()["workers"], message="a worker")
    assert workers[0]["organization_id"] == "81"
    assert bridge.anon.get("/api/workers").status_code == 401
    status = bridge.wait_status("81", "failed", timeout=120)
    assert status["reason"] == "retries_exhausted"
    wait_until(lambda: "failed" in receiver.statuses("81"), message="failed event")
    assert receiver.statuses("81") == ["connecting", "reconnecting", "failed"]
    assert bridge.send("81").status_code == 409
    rows = bridge.client.get("/api/workers").json()
    assert rows["workers"][0]["spawns"] == 3 and rows["workers"][0]["crashes"] == 0
    assert rows["bridge"]["rss_bytes"] > 0
    pacing = bridge.client.get("/api/pacing/81").json()["pacing"]
    assert pacing["min_gap_ms"] == 0  # the test environment's value wins over the engine's 30 s
    put = bridge.client.put("/api/pacing/81", json={"daily_cap": 40, "warmup_days": 5, "warmup_start": 10})
    assert put.status_code == 200 and put.json()["own"] == {"daily_cap": 40, "warmup_days": 5, "warmup_start": 10}
    bad = bridge.client.put("/api/pacing/81", json={"daily_cap": -1})
    assert bad.status_code == 422 and bad.json()["field"] == "daily_cap"
    assert bridge.client.put("/api/pacing/999", json={"daily_cap": 1}).status_code == 404


@pytest.fixture
def postgres_store():
    """A fresh PostgreSQL database for whatsmeow's keys (the `BRIDGE_DATABASE_URL=postgres://` case)."""
    import uuid
    from urllib.parse import unquote

    import psycopg

    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    base, _, _ = url.split("?")[0].rpartition("/")
    # The server's maintenance database: the one DATABASE_URL names may not exist yet (tests use test_*).
    server = f"{base}/postgres"
    name = f"bridge_wm_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    # whatsmeow's driver (lib/pq) requires TLS unless told otherwise; the local server has none.
    # It cannot read a socket directory in the host part (the embedded server's URL, as make test
    # builds it): that goes as the `host` parameter, which libpq reads as well.
    scheme_user, _, host = base.rpartition("@")
    if host.startswith("%2F"):
        yield f"{scheme_user}@/{name}?host={unquote(host)}&sslmode=disable"
    else:
        yield f"{base}/{name}?sslmode=disable"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_postgresql_store_resumes_a_stored_device_and_logout_deletes_it(tmp_path, postgres_store):
    import psycopg

    settings = _settings(tmp_path, BRIDGE_DATABASE_URL=postgres_store)
    jid = "573005550010:5@s.whatsapp.net"

    async def link():
        manager, store, _ = _manager(settings)
        try:
            await _link(manager)
        finally:
            await manager.shutdown()

    async def _link(manager):
        session = await manager.start("87", "whatsmeow")
        await _until(lambda: session.status == "reconnecting")  # whatsmeow created its tables
        with psycopg.connect(postgres_store) as db:
            db.execute(DEVICE_INSERT.replace("?", "%s"), _device_row(jid))
        feed(session.engine, PairStatusEv(ID=_jid("573005550010", device=5), Status=PAIR_SUCCESS))

    async def restart_and_logout():
        manager, store, registry = _manager(settings)
        await manager.boot()
        session = manager.get("87")
        await _until(lambda: session.status == "reconnecting" and registry.spawns.get("87"))
        resumed = (session.status, sum(registry.crashes.values()))
        await session.logout()
        await manager.shutdown()
        return resumed, session.status

    asyncio.run(link())
    resumed, status = asyncio.run(restart_and_logout())
    assert resumed == ("reconnecting", 0) and status == "logged_out"
    with psycopg.connect(postgres_store) as db:
        assert db.execute("SELECT COUNT(*) FROM whatsmeow_device").fetchone()[0] == 0


def test_a_patient_photo_captioned_1_arrives_with_its_file_and_answers_the_menu(tmp_path):
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buf, format="PNG")
    png = buf.getvalue()

    async def scenario():
        manager, store, _ = _manager(_settings(tmp_path))
        session = await manager.start("88", "whatsmeow")
        await _until(lambda: session.status == "reconnecting")
        feed(session.engine, ConnectedEv(status=True))
        store.set_menu("88", "+573001234567", [{"id": "yes", "title": "Confirmar"}, {"id": "no", "title": "Cancelar"}])
        photo = _message()
        photo.Message.imageMessage.caption = "1"
        photo.Message.imageMessage.mimetype = "image/png"
        photo.Message.imageMessage.fileLength = len(png)
        photo.Message.imageMessage.contextInfo.stanzaID = "3EB0REMINDER"
        fact = fact_of(photo)
        fact["media"]["data_b64"] = base64.b64encode(png).decode()  # what the worker downloads
        session.engine._on_fact(fact)
        events = [e["data"] for e in _events(store) if e["type"] == "message.inbound"]
        await manager.shutdown()
        return events

    [inbound] = asyncio.run(scenario())
    assert (inbound["text"], inbound["button_id"], inbound["reply_to"]) == ("1", "yes", "3EB0REMINDER")
    assert inbound["media"]["kind"] == "image" and inbound["media"]["mime_type"] == "image/png"
    assert inbound["media"]["size"] == len(png)


def test_an_unscanned_qr_that_expires_leaves_no_worker_behind(tmp_path):
    settings = _settings(tmp_path, BRIDGE_QR_FIRST_MS="300", BRIDGE_QR_CODES="1")

    async def scenario():
        manager, store, registry = _manager(settings)
        session = await manager.start("89", "whatsmeow")
        await _until(lambda: session.engine.worker is not None and session.engine.worker.pid is not None)
        worker = session.engine.worker
        session.engine._on_fact({"fact": "qr", "text": "2@qr"})
        await _until(lambda: session.status == "failed")
        await _until(lambda: worker.exited.is_set())
        result = (session.reason, registry.snapshot()[0]["alive"])
        await manager.shutdown()
        return result

    assert asyncio.run(scenario()) == ("qr_expired", False)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("server returned error 463", "reachout_timelocked"),
        ("failed to send message: server returned error 429", "rate_limited"),
        ("info query timed out", "send_timeout"),
        ("websocket not connected", "not_connected"),
        ("failed to get device list: unknown user", "send_failed"),
    ],
)
def test_whatsmeow_send_errors_become_reasons_staff_can_act_on(error, code):
    from whatsapp_bridge.engines.whatsmeow import send_error_code

    assert send_error_code(error) == code


def test_a_killed_bridge_leaves_no_worker_holding_a_clinic_s_device(make_bridge):
    bridge = make_bridge({"BRIDGE_RECONNECT_BASE_MS": "60000", "BRIDGE_RECONNECT_MAX_MS": "60000"})
    assert bridge.client.post("/api/start-session", json={"organization_id": "90", "engine": "whatsmeow"}).is_success
    worker = wait_until(
        lambda: next((w for w in bridge.client.get("/api/workers").json()["workers"] if w["pid"]), None),
        timeout=60,
        message="a live worker",
    )
    bridge.proc.kill()  # SIGKILL: no shutdown code runs in the bridge
    bridge.proc.wait(timeout=10)

    def gone():
        try:
            os.kill(worker["pid"], 0)
        except ProcessLookupError:
            return True
        return False

    # Its end of the socket closed with the bridge: the worker exits instead of living on as a
    # second client of the same device next to the restarted bridge's.
    wait_until(gone, timeout=30, message="the orphaned worker to exit")


def test_an_unreachable_key_store_is_retried_with_backoff_not_a_500(tmp_path):
    settings = _settings(tmp_path, BRIDGE_DATABASE_URL=str(tmp_path / "missing" / "dir" / "whatsmeow.sqlite3"))

    async def scenario():
        manager, store, registry = _manager(settings)
        session = await manager.start("91", "whatsmeow")
        result = (session.status, registry.spawns.get("91", 0))
        await manager.shutdown()
        return result

    assert asyncio.run(scenario()) == ("reconnecting", 0)
