"""'Your glasses are ready': queued once per order, in the ledger, after quiet hours, never against STOP."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from apps.notifications.models import Message, MessageKind, MessageStatus, NotificationSettings
from apps.notifications.outbox import free_text_blocked_reason, message_send
from apps.notifications.services import message_template_save, notification_settings_get
from apps.orders.models import OrderMessage, OrderMessagePurpose, OrderStatus
from apps.orders.services import order_status_change, payment_record, shop_settings_update
from apps.orders.tests.conftest import PESOS
from apps.patients.services.patients import patient_whatsapp_opt_out

pytestmark = pytest.mark.django_db


def ready_messages(order):
    return Message.objects.filter(order_link__order=order, kind=MessageKind.ORDER_READY)


def test_reaching_ready_queues_the_message_with_order_balance_and_hours(organization, make_order, any_hour):
    shop_settings_update(organization=organization, data={"opening_hours": "lunes a viernes de 9 a 17"})
    order = make_order(status=OrderStatus.RECEIVED)
    payment_record(order=order, amount=200_000 * PESOS, method="cash")

    order_status_change(order=order, to_status="ready")

    [message] = ready_messages(order)
    assert message.status == MessageStatus.QUEUED
    assert message.patient == order.patient and message.phone == order.patient.phone
    assert message.body == (f"Hola Juan, tu pedido #{order.number} ya está listo en {organization.name}. "
                            "Saldo pendiente: $ 300.000. Horario: lunes a viernes de 9 a 17. ¡Te esperamos!")


def test_the_clinic_words_it_its_own_way(organization, make_order, any_hour):
    message_template_save(organization=organization, kind="order_ready", language="es",
                          body="{patient_name}: {order} listo. Debe {balance_due}.")

    order = make_order(status=OrderStatus.READY)

    assert ready_messages(order).get().body == f"Juan Pérez: #{order.number} listo. Debe $ 500.000."


def test_it_goes_out_once_per_order_even_if_the_order_is_remade(make_order, any_hour):
    order = make_order(status=OrderStatus.READY)
    # Suppose the lab remade it: the order is ready a second time, the patient already knows.
    type(order).objects.filter(pk=order.pk).update(status=OrderStatus.RECEIVED)

    order_status_change(order=order, to_status="ready")

    assert ready_messages(order).count() == 1


def test_the_database_holds_one_ready_message_per_order(make_order, any_hour):
    order = make_order(status=OrderStatus.READY)
    another = Message.objects.create(organization=order.organization, patient=order.patient, direction="out",
                                     kind=MessageKind.ORDER_READY, phone=order.patient.phone, body="otra vez")

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderMessage.objects.create(organization=order.organization, order=order, message=another,
                                    purpose=OrderMessagePurpose.READY)


def test_quiet_hours_delay_the_send_until_they_end(organization, make_order, django_capture_on_commit_callbacks):
    notification_settings_get(organization=organization)
    # Quiet around the clock but for one minute a day: whenever the test runs, the send waits.
    now = dt.datetime.now(organization.zone)
    opens = (now - dt.timedelta(minutes=2)).time().replace(second=0, microsecond=0)
    NotificationSettings.objects.filter(organization=organization).update(
        quiet_start=(now - dt.timedelta(minutes=1)).time().replace(second=0, microsecond=0), quiet_end=opens,
        closed_days=[])
    order = make_order(status=OrderStatus.RECEIVED)

    with django_capture_on_commit_callbacks(execute=True):
        order_status_change(order=order, to_status="ready")

    message = ready_messages(order).get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT scheduled_at FROM procrastinate_jobs WHERE args->>'message_id' = %s", [str(message.pk)])
        [(scheduled_at,)] = cursor.fetchall()
    assert scheduled_at.astimezone(organization.zone).time().replace(second=0) == opens
    assert scheduled_at > dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)


def test_no_consent_means_no_message_and_the_history_says_why(make_order, patient, any_hour):
    type(patient).objects.filter(pk=patient.pk).update(whatsapp_consent=False, whatsapp_consent_at=None,
                                                       whatsapp_consent_source="")
    order = make_order(status=OrderStatus.READY)

    assert not ready_messages(order).exists()
    assert order.status == "ready"
    patient.refresh_from_db()
    assert free_text_blocked_reason(patient=patient) in order.events.get(to_status="ready").note


def test_a_patient_who_wrote_stop_gets_nothing(make_order, patient, any_hour):
    patient_whatsapp_opt_out(patient=patient)

    order = make_order(status=OrderStatus.READY)

    assert not ready_messages(order).exists()
    assert free_text_blocked_reason(patient=patient) in order.events.get(to_status="ready").note


def test_stop_between_queueing_and_sending_wins(make_order, patient, any_hour):
    order = make_order(status=OrderStatus.READY)
    message = ready_messages(order).get()
    patient_whatsapp_opt_out(patient=patient)

    assert message_send(message_id=message.pk) == MessageStatus.FAILED
    message.refresh_from_db()
    assert message.error_code == "opted_out"


def test_the_patients_reply_lands_in_the_inbox(organization, make_order, patient, any_hour):
    from apps.inbox.selectors import conversation_list
    from apps.notifications.replies import inbound_receive

    make_order(status=OrderStatus.READY)

    reply = inbound_receive(organization=organization, bridge_message_id="wamid.ready1", phone=patient.phone,
                            text="¡Gracias! Paso mañana por la tarde.")

    assert reply.kind == MessageKind.FREE_TEXT and reply.patient == patient
    [conversation] = conversation_list(organization=organization, filter="all")
    assert conversation.patient == patient
