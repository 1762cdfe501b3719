"""With the real bridge (sandbox), the real worker and PostgreSQL: the shop's messages reach the phone."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.appointments.models import AppointmentStatus, EventSource
from apps.appointments.services import appointment_book, appointment_status_change
from apps.appointments.tests.factories import AppointmentTypeFactory, ProviderFactory
from apps.notifications.models import Direction, Message, MessageKind, MessageStatus
from apps.notifications.tests.test_media_end_to_end import phone_file
from apps.orders.models import OrderStatus
from apps.orders.services import order_receipt_send, order_status_change, payment_record
from apps.orders.tests.conftest import PESOS
from apps.recalls.models import Recall
from apps.recalls.services import recall_send_whatsapp, recalls_generate
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_ready_message_recall_button_and_receipt_pdf_reach_the_phone(organization, patient, make_order, any_hour,
                                                                    live_bridge, make_worker):
    live_bridge.link(organization.pk)
    make_worker(bridge_url=live_bridge.url)

    # 1. The order is ready: the patient reads it on the phone, once.
    order = make_order(status=OrderStatus.RECEIVED)
    payment_record(order=order, amount=100_000 * PESOS, method="cash")
    order_status_change(order=order, to_status=OrderStatus.READY)
    message = Message.objects.get(kind=MessageKind.ORDER_READY)
    wait_until(lambda: Message.objects.get(pk=message.pk).status == MessageStatus.READ, message="read receipt")
    [received] = live_bridge.phone_inbox(organization.pk, patient.phone)
    assert received["text"].startswith(f"Hola Juan, tu pedido #{order.number} ya está listo")
    assert "Saldo pendiente: $ 400.000" in received["text"]

    # 2. A year after an exam, the recall goes out with its button; pressing it reaches the inbox.
    visit = appointment_book(organization=organization, patient=patient,
                             provider=ProviderFactory(organization=organization),
                             appointment_type=AppointmentTypeFactory(organization=organization),
                             start=timezone.now() - dt.timedelta(days=370), override=True)
    for status in (AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED):
        appointment_status_change(appointment=visit, to_status=status, source=EventSource.UI)
    recalls_generate(organization=organization)
    recall = recall_send_whatsapp(recall=Recall.objects.get())
    wait_until(lambda: len(live_bridge.phone_inbox(organization.pk, patient.phone)) == 2, message="the recall")
    recall_on_phone = live_bridge.phone_inbox(organization.pk, patient.phone)[-1]
    assert [b["id"] for b in recall_on_phone["buttons"]] == [f"book:{recall.pk}"]

    live_bridge.reply(organization.pk, patient.phone, button_id=f"book:{recall.pk}")

    pressed = wait_until(lambda: Message.objects.filter(direction=Direction.INBOUND, patient=patient).first(),
                         message="the button press in the ledger")
    assert pressed.button_id == f"book:{recall.pk}" and pressed.kind == MessageKind.FREE_TEXT
    assert Recall.objects.get().booking_requested_at is not None
    assert Message.objects.filter(kind=MessageKind.ORDER_READY).count() == 1

    # 3. Paid and delivered, the receipt PDF reaches the phone as a document.
    payment_record(order=order, amount=400_000 * PESOS, method="nequi")
    order_status_change(order=order, to_status=OrderStatus.DELIVERED)
    link = order_receipt_send(order=order)
    wait_until(lambda: Message.objects.get(pk=link.message_id).status == MessageStatus.READ, message="receipt read")
    receipt = live_bridge.phone_inbox(organization.pk, patient.phone)[-1]
    assert receipt["media"]["kind"] == "document" and receipt["media"]["mime_type"] == "application/pdf"
    assert receipt["text"] == f"Recibo de tu pedido #{order.number} en {organization.name}."
    content = phone_file(live_bridge, organization.pk, receipt["media"]["id"])
    assert content.startswith(b"%PDF") and content == Message.objects.get(pk=link.message_id).attachment.file.read()
