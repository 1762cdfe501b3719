"""rows_update: many instances of one model written in one UPDATE … FROM unnest, as bulk_update writes them."""

import datetime as dt

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.common.bulk import rows_insert, rows_update
from apps.notifications.models import Message, MessageStatus
from apps.notifications.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

COLUMNS = ("status", "error_code", "error", "bridge_message_id", "delivered_at", "updated_at", "reply_to_id",
           "buttons", "body")


def _columns(messages) -> list[tuple]:
    return list(Message.objects.filter(pk__in=[m.pk for m in messages]).order_by("pk").values_list(*COLUMNS))


def _pair(organization, count: int = 3):
    """Two identical sets of messages: one for bulk_update, one for rows_update."""
    return ([MessageFactory(organization=organization, body=f"Hola {i}") for i in range(count)],
            [MessageFactory(organization=organization, body=f"Hola {i}") for i in range(count)])


def _change(messages, at: dt.datetime, *, buttons: bool = False) -> None:
    for i, message in enumerate(messages):
        message.status = MessageStatus.DELIVERED if i % 2 else MessageStatus.READ
        message.error_code, message.error = "", f"¿ñ {i}' \"; DROP TABLE x; --"
        message.bridge_message_id = f"wamid.{i}"
        message.delivered_at = at if i else None
        message.updated_at = at
        if buttons:
            message.buttons = [{"id": f"confirm:{i}", "title": "Confirmar"}]


def test_instances_are_written_as_bulk_update_writes_them_in_one_statement(organization):
    old, new = _pair(organization)
    at = timezone.now()
    fields = ["status", "error_code", "error", "bridge_message_id", "delivered_at", "updated_at"]
    _change(old, at)
    _change(new, at)
    Message.objects.bulk_update(old, fields)
    with CaptureQueriesContext(connection) as queries:
        assert rows_update(new, fields) == 3
    assert len(queries) == 1 and "unnest" in queries[0]["sql"]
    assert [row for row in _columns(new)] == [row for row in _columns(old)]
    assert [row[1] for row in _columns(new)] == [""] * 3  # a value every row shares is written too


def test_only_the_rows_given_are_updated(organization):
    messages = [MessageFactory(organization=organization) for _i in range(3)]
    at = timezone.now() - dt.timedelta(hours=1)
    messages[0].status, messages[0].read_at = "read", at
    messages[1].status, messages[1].read_at = "delivered", None
    messages[2].status = "read"  # changed in memory, not given
    assert rows_update(messages[:2], ["status", "read_at"]) == 2
    rows = {m.pk: m for m in Message.objects.filter(pk__in=[m.pk for m in messages])}
    assert (rows[messages[0].pk].status, rows[messages[0].pk].read_at) == ("read", at)
    assert (rows[messages[1].pk].status, rows[messages[1].pk].read_at) == ("delivered", None)
    assert rows[messages[2].pk].status == MessageStatus.SENT
    assert rows_update([], ["status"]) == 0


def test_a_foreign_key_takes_the_pk_its_instance_got_after_it_was_assigned(organization):
    message = MessageFactory(organization=organization)
    reply = Message(organization=organization, patient=message.patient, direction=message.direction,
                    kind=message.kind, phone=message.phone, body="Gracias", status=MessageStatus.QUEUED)
    message.reply_to = reply  # not saved yet: reply_to_id is None
    rows_insert([reply])  # now it has its primary key
    rows_update([message], ["reply_to"])
    assert Message.objects.get(pk=message.pk).reply_to_id == reply.pk


def test_a_json_field_that_varies_is_written_through_bulk_update(organization):
    old, new = _pair(organization)
    at = timezone.now()
    _change(old, at, buttons=True)
    _change(new, at, buttons=True)
    Message.objects.bulk_update(old, ["buttons", "status"])
    rows_update(new, ["buttons", "status"])
    assert [row[0] for row in _columns(new)] == [row[0] for row in _columns(old)]
    assert [row[7] for row in _columns(new)] == [row[7] for row in _columns(old)]


def test_a_value_too_long_for_its_column_is_refused_not_cut(organization):
    messages = [MessageFactory(organization=organization) for _i in range(2)]
    messages[0].bridge_message_id, messages[1].bridge_message_id = "x" * 129, "short"
    with pytest.raises(DataError), transaction.atomic():
        rows_update(messages, ["bridge_message_id"])
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("bridge_message_id",
                                                                                  flat=True)) == {""}
