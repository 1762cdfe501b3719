"""The bridge's webhook: signatures, batches, duplicates, tenancy and bad input."""

import datetime as dt
import hashlib
import hmac
import json
import uuid

import pytest
from django.db import connection
from django.urls import reverse

from apps.notifications.models import AlertKind, Message, MessageKind, MessageStatus, StaffAlert
from apps.notifications.tests.factories import MessageFactory
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.models import ProcessedEvent, WhatsAppSession
from tests.processes import EVENTS_SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.WHATSAPP_EVENTS_SECRET = EVENTS_SECRET


def event(organization, type_, **data):
    return {"id": uuid.uuid4().hex, "type": type_, "organization_id": str(organization.pk),
            "timestamp": "2031-03-01T14:00:00.000Z", "data": data}


def post(client, events, *, secret=EVENTS_SECRET, raw: bytes | None = None, signature: str | None = None):
    body = raw if raw is not None else json.dumps(events).encode()
    if signature is None:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(reverse("whatsapp-events"), data=body, content_type="application/json",
                       HTTP_X_BRIDGE_SIGNATURE=signature)


def status_event(organization, status, **extra):
    return event(organization, "session.status", status=status, reason=extra.get("reason"),
                 phone_number=extra.get("phone_number"))


def test_a_signed_session_status_updates_the_clinic_s_session(client, organization):
    resp = post(client, [status_event(organization, "connected", phone_number="+573009998877")])
    assert resp.status_code == 200
    session = WhatsAppSession.objects.get(organization=organization)
    assert (session.status, session.phone_number) == ("connected", "+573009998877")


def test_a_tampered_body_is_rejected_with_401_and_changes_nothing(client, organization):
    events = [status_event(organization, "connected")]
    body = json.dumps(events).encode()
    signature = "sha256=" + hmac.new(EVENTS_SECRET.encode(), body, hashlib.sha256).hexdigest()
    tampered = body.replace(b"connected", b"logged_out")
    assert post(client, None, raw=tampered, signature=signature).status_code == 401
    assert post(client, events, secret="wrong-secret").status_code == 401
    assert post(client, events, signature="").status_code == 401
    assert not WhatsAppSession.objects.exists()
    assert not ProcessedEvent.objects.exists()


def test_without_a_configured_secret_every_event_is_refused(client, organization, settings):
    settings.WHATSAPP_EVENTS_SECRET = ""
    assert post(client, [status_event(organization, "connected")], secret="").status_code == 401


@pytest.mark.parametrize("raw", [b"not json", b'{"id": "x"}'])
def test_a_body_that_is_not_a_list_of_events_gets_400_and_changes_nothing(client, raw):
    resp = post(client, None, raw=raw)
    assert resp.status_code == 400
    assert resp.json()["code"] == "malformed"
    assert not ProcessedEvent.objects.exists()


def test_a_malformed_event_is_rejected_with_its_reason_and_the_rest_of_the_batch_applies(client, organization):
    good = status_event(organization, "connected")
    resp = post(client, [good, {"id": "x", "type": "session.status"}, 1])
    assert resp.status_code == 200
    assert resp.json() == {"applied": 1, "accepted": [good["id"]], "rejected": [
        {"id": "x", "reason": "organization_id is missing or not a str"},
        {"id": "2", "reason": "not an object"},
    ]}
    assert WhatsAppSession.objects.get(organization=organization).status == "connected"


def test_an_inbound_message_with_nul_characters_applies_cleanly_with_the_rest_of_the_batch(client, organization):
    patient = PatientFactory(consenting=True, organization=organization)
    poisoned = event(organization, "message.inbound", message_id="wa-nul", **{"from": patient.phone},
                     text="Hola\u0000 mundo", button_id=None, push_name="Ju\u0000an", timestamp=0)
    after = status_event(organization, "connected")
    resp = post(client, [poisoned, after])
    assert resp.status_code == 200
    assert resp.json()["accepted"] == [poisoned["id"], after["id"]]
    stored = Message.objects.get(direction="in")
    assert (stored.body, stored.contact_name) == ("Hola mundo", "Juan")
    assert WhatsAppSession.objects.get(organization=organization).status == "connected"


def test_an_event_that_fails_unexpectedly_is_recorded_as_rejected_and_never_blocks_the_others(client, organization,
                                                                                              poison):
    patient = PatientFactory(consenting=True, organization=organization)
    bad = event(organization, "message.inbound", message_id="wa-bad", **{"from": patient.phone}, text="veneno",
                button_id=None, push_name="", timestamp=0)
    good = event(organization, "message.inbound", message_id="wa-good", **{"from": patient.phone}, text="Hola",
                 button_id=None, push_name="", timestamp=0)
    resp = post(client, [bad, good])
    assert resp.status_code == 200
    assert resp.json()["accepted"] == [good["id"]]
    [rejected] = resp.json()["rejected"]
    assert rejected["id"] == bad["id"] and "poison row refused" in rejected["reason"]
    assert "poison row refused" in ProcessedEvent.objects.get(event_id=bad["id"]).rejected_reason
    assert list(Message.objects.filter(direction="in").values_list("body", flat=True)) == ["Hola"]
    # Delivered again, it stays settled: neither applied nor reported as a new failure.
    assert post(client, [bad]).json() == {"applied": 0, "accepted": [bad["id"]], "rejected": []}


def test_event_ids_are_never_cut_so_two_long_ids_are_never_taken_for_one(client, organization):
    first = status_event(organization, "connected")
    first["id"] = "a" * 64
    longer = status_event(organization, "logged_out", reason="device_removed")
    longer["id"] = "a" * 64 + "b"
    resp = post(client, [first, longer])
    assert resp.json()["accepted"] == [first["id"]]
    assert resp.json()["rejected"] == [{"id": longer["id"], "reason": "id is longer than 64 characters"}]
    assert ProcessedEvent.objects.count() == 1


def test_the_event_receiver_answers_plain_http_when_https_redirects_are_on(client, organization, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert post(client, [status_event(organization, "connected")]).status_code == 200
    assert client.get("/accounts/login/").status_code == 301


def test_an_event_delivered_twice_is_applied_once(client, organization):
    patient = PatientFactory(consenting=True, organization=organization)
    inbound = event(organization, "message.inbound", message_id="wa-1", **{"from": patient.phone}, text="Hola",
                    button_id=None, push_name="Juan", timestamp=0)
    assert post(client, [inbound]).json() == {"applied": 1, "accepted": [inbound["id"]], "rejected": []}
    assert post(client, [inbound]).json() == {"applied": 0, "accepted": [inbound["id"]], "rejected": []}
    assert Message.objects.filter(direction="in").count() == 1


def test_message_statuses_only_move_forward(client, organization):
    message = MessageFactory(organization=organization, status=MessageStatus.SENDING, sent_at=None)
    for status in ("delivered", "sent", "read", "delivered"):
        post(client, [event(organization, "message.status", message_id="b-1", client_message_id=str(message.pk),
                            phone=message.phone, status=status, error_code=None, error=None)])
    message.refresh_from_db()
    assert message.status == MessageStatus.READ
    assert message.delivered_at and message.read_at
    assert message.bridge_message_id == "b-1"


def test_a_failed_reminder_is_recorded_with_its_reason_and_alerts_staff(client, organization):
    message = MessageFactory(organization=organization, status=MessageStatus.SENDING, kind=MessageKind.FREE_TEXT)
    post(client, [event(organization, "message.status", message_id="b-2", client_message_id=str(message.pk),
                        phone=message.phone, status="failed", error_code="session_logged_out",
                        error="session is logged_out")])
    message.refresh_from_db()
    assert (message.status, message.error_code, message.error) == ("failed", "session_logged_out",
                                                                    "session is logged_out")


def test_an_event_for_one_clinic_never_touches_another_clinic_s_rows(client, organization, other_organization):
    theirs = MessageFactory(organization=other_organization, status=MessageStatus.SENT)
    post(client, [event(organization, "message.status", message_id="b-3", client_message_id=str(theirs.pk),
                        phone=theirs.phone, status="read", error_code=None, error=None),
                  status_event(organization, "logged_out", reason="device_removed")])
    theirs.refresh_from_db()
    assert theirs.status == MessageStatus.SENT and theirs.bridge_message_id == ""
    assert not WhatsAppSession.objects.filter(organization=other_organization).exists()
    assert not StaffAlert.objects.filter(organization=other_organization).exists()


def test_a_reply_from_an_unknown_number_is_stored_as_an_unknown_contact(client, organization):
    post(client, [event(organization, "message.inbound", message_id="wa-9", **{"from": "+573159990000"},
                        text="¿Tienen citas el sábado?", button_id=None, push_name="Laura", timestamp=0)])
    message = Message.objects.get(direction="in")
    assert (message.patient, message.contact_name, message.kind) == (None, "Laura", MessageKind.FREE_TEXT)


def test_a_session_that_needs_relinking_raises_one_staff_alert(client, organization):
    post(client, [status_event(organization, "connected", phone_number="+573009998877")])
    post(client, [status_event(organization, "logged_out", reason="device_removed")])
    post(client, [status_event(organization, "logged_out", reason="device_removed")])
    assert StaffAlert.objects.filter(organization=organization, kind=AlertKind.SESSION_NEEDS_RELINK).count() == 1


def test_events_for_an_unknown_organization_are_ignored(client):
    resp = post(client, [{"id": "e1", "type": "session.status", "organization_id": "999999", "timestamp": "",
                          "data": {"status": "connected"}}])
    assert resp.status_code == 200
    assert resp.json()["rejected"] == [{"id": "e1", "reason": "unknown organization '999999'"}]
    assert not WhatsAppSession.objects.exists()


def test_old_processed_event_ids_are_pruned(client, organization):
    import datetime as dt

    from django.utils import timezone

    from apps.whatsapp.tasks import prune_processed_events

    post(client, [status_event(organization, "connected")])
    now = timezone.now()
    assert prune_processed_events(timestamp=int(now.timestamp())) == 0
    assert prune_processed_events(timestamp=int((now + dt.timedelta(days=31)).timestamp())) == 1


@pytest.mark.parametrize(
    ("error_code", "error", "shown"),
    [
        ("not_on_whatsapp", "+573000000000 has no WhatsApp account", "no tiene cuenta de WhatsApp"),
        ("reachout_timelocked", "WhatsApp restricted this number from writing to new contacts (error 463)",
         "error 463"),
        ("session_failed", 'session is failed (temporary_ban {"ban_code": 101})', "suspendió temporalmente"),
    ],
)
def test_a_linked_device_s_failure_reason_reaches_the_message_log_in_spanish(
    client, staff_client, organization, error_code, error, shown
):
    message = MessageFactory(organization=organization, status=MessageStatus.SENDING, kind=MessageKind.FREE_TEXT)
    post(client, [event(organization, "message.status", message_id="b-9", client_message_id=str(message.pk),
                        phone=message.phone, status="failed", error_code=error_code, error=error)])
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", error_code)
    html = staff_client.get(reverse("message-list"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert shown in html
def _two_reminded_appointments(organization):
    from apps.appointments.models import ConfirmationStatus, EventSource
    from apps.appointments.services import appointment_confirmation_set
    from apps.appointments.tests.factories import AppointmentFactory

    patient = PatientFactory(consenting=True, organization=organization, phone="+573001234567")
    appointments, reminders = [], []
    for days, bridge_id in ((3, "WA-OUT-1"), (5, "WA-OUT-2")):
        # After the events' timestamp (2031-03-01), which is the moment the reply was written.
        appointment = AppointmentFactory(organization=organization, patient=patient,
                                         start=dt.datetime(2031, 3, days, 14, tzinfo=dt.UTC))
        appointment_confirmation_set(appointment=appointment, confirmation=ConfirmationStatus.REQUESTED,
                                     source=EventSource.SYSTEM)
        reminders.append(MessageFactory(organization=organization, patient=patient, appointment=appointment,
                                        kind=MessageKind.REMINDER, phone=patient.phone,
                                        appointment_start=appointment.start, status=MessageStatus.SENT,
                                        bridge_message_id=bridge_id))
        appointments.append(appointment)
    return patient, appointments


@pytest.mark.parametrize(("data", "answered"), [
    # whatsmeow with its menu: the bridge mapped "1" to the last menu's button id.
    ({"text": "1", "button_id": "confirm:{last}"}, 1),
    # whatsmeow after losing its menu (or any engine without one): no button id, the last reminder rules.
    ({"text": "1", "button_id": None}, 1),
    # The patient quoted the first reminder: that one is answered.
    ({"text": "1", "button_id": None, "reply_to": "WA-OUT-1"}, 0),
])
def test_a_1_from_the_bridge_answers_the_reminder_it_replies_to(client, organization, data, answered):
    from apps.appointments.models import ConfirmationStatus

    patient, appointments = _two_reminded_appointments(organization)
    data = {**data, "button_id": data["button_id"] and data["button_id"].format(last=appointments[1].pk)}
    resp = post(client, [event(organization, "message.inbound", message_id="WA-IN-1", **{"from": patient.phone},
                               push_name="Juan", **data)])
    assert resp.status_code == 200
    for index, appointment in enumerate(appointments):
        appointment.refresh_from_db()
        expected = ConfirmationStatus.CONFIRMED if index == answered else ConfirmationStatus.REQUESTED
        assert appointment.confirmation == expected


def test_the_relink_alert_says_why_in_words_and_closes_itself_once_linked_again(client, organization):
    post(client, [status_event(organization, "logged_out", reason="logout")])
    alert = StaffAlert.objects.get(kind=AlertKind.SESSION_NEEDS_RELINK)
    assert "logout" not in alert.text and "el vínculo se quitó desde este sistema" in alert.text

    post(client, [status_event(organization, "connected", phone_number="+573009998877")])

    alert.refresh_from_db()
    assert alert.handled_at is not None and alert.handled_by is None


def test_an_unknown_reason_code_is_never_shown_raw(organization):
    session = WhatsAppSession(organization=organization, status="failed", reason="stream_error_515")
    assert "stream_error_515" not in session.reason_display


def test_an_event_type_nobody_handles_is_accepted_and_ignored(client, organization, monkeypatch):
    from apps.whatsapp import events

    # As if no app had registered a message.status handler.
    monkeypatch.setattr(events, "_handlers", {})
    monkeypatch.setattr(events, "_batch_handlers", {})
    sent = MessageFactory(organization=organization, bridge_message_id="wa-ignored", status=MessageStatus.SENT)
    status = event(organization, "message.status", message_id="wa-ignored", status="read")
    assert post(client, [status]).json() == {"applied": 1, "accepted": [status["id"]], "rejected": []}
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT


def test_a_handler_s_refusal_settles_the_event_and_only_the_session_type_is_kept_by_whatsapp(
        client, organization, monkeypatch):
    from apps.common.exceptions import ApplicationError
    from apps.whatsapp import events

    def refuse(*, organization, data, at):
        raise ApplicationError("not now")

    monkeypatch.setattr(events, "_handlers", {})
    monkeypatch.setattr(events, "_batch_handlers", {})
    events.event_handler_register(event_type="message.inbound", handler=refuse)
    inbound = event(organization, "message.inbound", message_id="wa-refused", **{"from": "+573001112233"}, text="1")
    assert post(client, [inbound]).json() == {"applied": 1, "accepted": [inbound["id"]], "rejected": []}
    assert ProcessedEvent.objects.get(event_id=inbound["id"]).rejected_reason == ""
    with pytest.raises(ValueError):
        events.event_handler_register(event_type="session.status", handler=refuse)


def test_a_batch_costs_the_same_queries_whatever_its_size(client, organization):
    from django.test.utils import CaptureQueriesContext

    patients = PatientFactory.create_batch(3, organization=organization, consenting=True)
    sent = [MessageFactory(organization=organization, status=MessageStatus.SENT) for _ in range(3)]

    def batch(size):
        inbound = [event(organization, "message.inbound", message_id=uuid.uuid4().hex,
                         **{"from": patients[i % 3].phone}, text=f"Hola {i}", button_id=None, push_name="",
                         timestamp=0) for i in range(size)]
        statuses = [event(organization, "message.status", message_id=f"b-{i}", client_message_id=str(m.pk),
                          phone=m.phone, status="delivered", error_code=None, error=None)
                    for i, m in enumerate(sent)]
        return inbound + statuses

    post(client, batch(1))  # settings and conversations exist from here on
    counts = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            assert post(client, batch(size)).json()["applied"] == size + 3
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert Message.objects.filter(direction="in").count() == 56


def test_statuses_in_one_batch_apply_in_order_and_only_move_forward(client, organization):
    message = MessageFactory(organization=organization, status=MessageStatus.SENDING, sent_at=None)
    other = MessageFactory(organization=organization, status=MessageStatus.SENT, bridge_message_id="b-other")
    events = [event(organization, "message.status", message_id="b-1", client_message_id=str(message.pk),
                    phone=message.phone, status=status, error_code=None, error=None)
              for status in ("delivered", "sent", "read", "delivered")]
    # Found by the bridge's id alone.
    events.append(event(organization, "message.status", message_id="b-other", client_message_id=None,
                        phone=other.phone, status="read", error_code=None, error=None))
    resp = post(client, events)
    assert resp.json()["applied"] == 5
    message.refresh_from_db()
    other.refresh_from_db()
    assert (message.status, message.bridge_message_id) == (MessageStatus.READ, "b-1")
    assert message.delivered_at and message.read_at
    assert other.status == MessageStatus.READ


@pytest.mark.parametrize("batch", [1, 3], ids=["alone", "in_a_batch"])
def test_a_repeated_or_late_status_leaves_the_message_row_as_it_was(client, organization, batch):
    from django.test.utils import CaptureQueriesContext

    message = MessageFactory(organization=organization, status=MessageStatus.READ, bridge_message_id="b-1")
    before = Message.objects.values("status", "delivered_at", "read_at", "updated_at").get(pk=message.pk)
    repeats = [event(organization, "message.status", message_id="b-1", client_message_id=str(message.pk),
                     phone=message.phone, status=status, error_code=None, error=None)
               for status in ("read", "delivered", "sent")[:batch]]
    with CaptureQueriesContext(connection) as queries:
        assert post(client, repeats).json()["applied"] == batch
    assert Message.objects.values("status", "delivered_at", "read_at", "updated_at").get(pk=message.pk) == before
    writes = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "notifications_message" in q["sql"]]
    assert writes == []


def test_a_reminder_s_first_sent_status_in_a_batch_asks_for_its_confirmation(client, organization):
    from apps.appointments.models import ConfirmationStatus
    from apps.appointments.tests.factories import AppointmentFactory

    appointment = AppointmentFactory(organization=organization, start=dt.datetime(2031, 3, 3, 14, tzinfo=dt.UTC))
    reminder = MessageFactory(organization=organization, appointment=appointment, patient=appointment.patient,
                              kind=MessageKind.REMINDER, appointment_start=appointment.start,
                              status=MessageStatus.SENDING, sent_at=None)
    post(client, [event(organization, "message.status", message_id="b-r", client_message_id=str(reminder.pk),
                        phone=reminder.phone, status="sent", error_code=None, error=None)])
    appointment.refresh_from_db()
    assert appointment.confirmation == ConfirmationStatus.REQUESTED


def test_a_batch_keeps_each_event_s_meaning_and_order(client, organization):
    """Plain messages around a STOP and a failed status: each applied as if alone, in order."""
    patient = PatientFactory(organization=organization, consenting=True)
    failing = MessageFactory(organization=organization, status=MessageStatus.SENT, kind=MessageKind.FREE_TEXT)
    events = [
        event(organization, "message.inbound", message_id="wa-a", **{"from": patient.phone}, text="Hola",
              button_id=None, push_name="", timestamp=0),
        event(organization, "message.inbound", message_id="wa-a", **{"from": patient.phone}, text="Hola",
              button_id=None, push_name="", timestamp=0),  # the same WhatsApp message under another event id
        event(organization, "message.inbound", message_id="wa-stop", **{"from": patient.phone}, text="STOP",
              button_id=None, push_name="", timestamp=0),
        event(organization, "message.status", message_id="b-f", client_message_id=str(failing.pk),
              phone=failing.phone, status="failed", error_code="not_on_whatsapp", error="no account"),
        event(organization, "message.inbound", message_id="wa-b", **{"from": "+573159990000"}, text="¿Precio?",
              button_id=None, push_name="Laura", timestamp=0),
    ]
    resp = post(client, events)
    assert resp.json() == {"applied": 5, "accepted": [e["id"] for e in events], "rejected": []}
    inbound = list(Message.objects.filter(direction="in").order_by("pk").values_list("bridge_message_id", "kind"))
    assert inbound == [("wa-a", MessageKind.FREE_TEXT), ("wa-stop", MessageKind.OPT_OUT),
                       ("wa-b", MessageKind.FREE_TEXT)]
    patient.refresh_from_db()
    failing.refresh_from_db()
    assert patient.whatsapp_opted_out
    assert (failing.status, failing.error_code) == (MessageStatus.FAILED, "not_on_whatsapp")
    # The whole batch again: every id already processed, nothing applied twice.
    assert post(client, events).json()["applied"] == 0
    assert Message.objects.filter(direction="in").count() == 3


def test_a_plain_text_stored_before_under_another_event_id_is_stored_once_beside_new_ones(client, organization):
    """The run's INSERT skips a WhatsApp message already stored and stores the others, in their order."""
    patient = PatientFactory(organization=organization, consenting=True)

    def text(message_id, body):
        return event(organization, "message.inbound", message_id=message_id, **{"from": patient.phone}, text=body,
                     button_id=None, push_name="", timestamp=0)

    assert post(client, [text("wa-1", "Hola")]).json()["applied"] == 1
    events = [text("wa-0", "Buenos días"), text("wa-1", "Hola"), text("wa-2", "¿Tienen lentes de contacto?")]
    assert post(client, events).json() == {"applied": 3, "accepted": [e["id"] for e in events], "rejected": []}
    stored = list(Message.objects.filter(direction="in").order_by("pk").values_list("bridge_message_id", "body",
                                                                                    "patient_id"))
    assert stored == [("wa-1", "Hola", patient.pk), ("wa-0", "Buenos días", patient.pk),
                      ("wa-2", "¿Tienen lentes de contacto?", patient.pk)]


def test_a_plain_text_whose_sender_does_not_fit_is_rejected_with_its_reason_and_the_others_apply(client, organization):
    patient = PatientFactory(organization=organization, consenting=True)
    events = [event(organization, "message.inbound", message_id=f"wa-{i}", **{"from": sender}, text="Hola",
                    button_id=None, push_name="", timestamp=0)
              for i, sender in enumerate([patient.phone, "+57" + "3" * 30, patient.phone])]
    body = post(client, events).json()
    assert body["applied"] == 2
    assert [r["id"] for r in body["rejected"]] == [events[1]["id"]]
    assert body["rejected"][0]["reason"]
    assert list(Message.objects.filter(direction="in").order_by("pk").values_list("bridge_message_id", flat=True)) == [
        "wa-0", "wa-2"]
