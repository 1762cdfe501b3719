"""POST /api/send-messages: many messages of one organization in one call, each as /api/send-message takes it."""

from __future__ import annotations

from datetime import datetime

from .conftest import wait_until

ORG = "51"


def batch(bridge, messages, org=ORG):
    return bridge.client.post("/api/send-messages", json={"organization_id": org, "messages": messages})


def reminder(i: int, **extra) -> dict:
    return {"phone": f"+5730012340{i:02d}", "message": f"Recordatorio {i}", "client_message_id": f"rem-{i}", **extra}


def test_a_batch_is_sent_in_its_order_and_each_message_is_answered_as_a_single_send(bridge, receiver):
    bridge.link(ORG)
    buttons = [{"id": "confirm:1", "title": "Confirmar"}, {"id": "cancel:1", "title": "Cancelar"}]
    answer = batch(bridge, [reminder(1, buttons=buttons), reminder(2), reminder(3)])

    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["client_message_id"], r["http_status"], r["status"]) for r in results] == [
        ("rem-1", 200, "sent"), ("rem-2", 200, "sent"), ("rem-3", 200, "sent")]
    phones = [m["phone"] for m in bridge.inbox(ORG)]  # in the order the phones got them
    assert phones == ["+573001234001", "+573001234002", "+573001234003"]
    assert bridge.inbox(ORG)[0]["buttons"] == buttons
    for result in results:
        receiver.wait_for(lambda e, r=result: e["type"] == "message.status" and e["data"]["status"] == "sent"
                          and e["data"]["message_id"] == r["message_id"], message=result["client_message_id"])


def test_a_repeated_batch_is_answered_from_the_first_and_sends_nothing_twice(bridge):
    bridge.link(ORG)
    first = batch(bridge, [reminder(1), reminder(2)]).json()["results"]
    # A retry after a lost answer, with one message more.
    again = batch(bridge, [reminder(1), reminder(2), reminder(3)]).json()["results"]

    assert [r["message_id"] for r in again[:2]] == [r["message_id"] for r in first]
    assert [(r["http_status"], r["status"]) for r in again] == [(200, "sent")] * 3
    assert len(bridge.inbox(ORG)) == 3
    # The same ids one by one are the same messages too.
    single = bridge.send(ORG, "+573001234001", "Recordatorio 1", client_message_id="rem-1")
    assert single.json() == {"message_id": first[0]["message_id"], "status": "sent"}
    assert len(bridge.inbox(ORG)) == 3


def test_bad_input_refuses_the_whole_batch_naming_the_message_and_its_field(bridge):
    bridge.link(ORG)
    refused = batch(bridge, [reminder(1), reminder(2, phone="not a phone"), reminder(3)])
    assert refused.status_code == 422
    assert refused.json()["field"] == "messages.1.phone"

    no_id = batch(bridge, [{"phone": "+573001234001", "message": "Hola"}])
    assert no_id.status_code == 422 and no_id.json()["field"] == "messages.0.client_message_id"

    twice = batch(bridge, [reminder(1), reminder(1)])
    assert twice.status_code == 422 and twice.json()["field"] == "messages"

    media = batch(bridge, [reminder(1, media={"kind": "image", "mime_type": "image/png", "data": "aGk="})])
    assert media.status_code == 422 and media.json()["field"] == "messages.0.media"
    assert "/api/send-message" in media.json()["error"]

    empty = batch(bridge, [])
    assert empty.status_code == 422 and empty.json()["field"] == "messages"

    too_many = batch(bridge, [reminder(i) for i in range(101)])
    assert too_many.status_code == 422 and too_many.json()["field"] == "messages"

    assert bridge.inbox(ORG) == []


def test_an_unknown_or_unlinked_organization_refuses_the_batch(bridge):
    assert batch(bridge, [reminder(1)], org="nobody").status_code == 404
    bridge.client.post("/api/start-session", json={"organization_id": ORG})
    not_linked = batch(bridge, [reminder(1)])
    assert not_linked.status_code == 409
    assert bridge.anon.post("/api/send-messages", json={"organization_id": ORG, "messages": [reminder(1)]}
                            ).status_code == 401


def test_a_batch_never_reaches_another_organizations_session(bridge):
    bridge.link(ORG)
    bridge.link("52", phone="+573001115555")
    batch(bridge, [reminder(1), reminder(2)], org="52")
    assert bridge.inbox(ORG) == []
    assert len(bridge.inbox("52")) == 2
    # The same client ids in another organization are other messages.
    assert [r["http_status"] for r in batch(bridge, [reminder(1)]).json()["results"]] == [200]
    assert len(bridge.inbox(ORG)) == 1


def test_a_past_deadline_fails_that_message_only(bridge):
    bridge.link(ORG)
    past = batch(bridge, [reminder(1), reminder(2, deliver_before="2020-01-01T00:00:00+00:00")])
    assert past.status_code == 422
    assert past.json()["field"] == "messages.1.deliver_before"


def test_with_pacing_the_first_goes_at_once_and_the_rest_are_queued_then_sent_paced(make_bridge, receiver):
    bridge = make_bridge({"BRIDGE_EVENTS_URL": receiver.url, "BRIDGE_SEND_MIN_GAP_MS": "300"})
    bridge.link(ORG)
    results = batch(bridge, [reminder(1), reminder(2), reminder(3)]).json()["results"]

    # The caller is not kept waiting for the pacing gaps.
    assert [(r["http_status"], r["status"]) for r in results] == [(200, "sent"), (202, "queued"), (202, "queued")]
    for result in results[1:]:
        receiver.wait_for(lambda e, r=result: e["type"] == "message.status" and e["data"]["status"] == "sent"
                          and e["data"]["message_id"] == r["message_id"], message=result["client_message_id"])
    wait_until(lambda: len(bridge.inbox(ORG)) == 3, message="three sent")
    sent_at = [datetime.fromisoformat(m["timestamp"]).timestamp() for m in bridge.inbox(ORG)]
    assert all(b - a >= 0.25 for a, b in zip(sent_at, sent_at[1:], strict=False)), sent_at
