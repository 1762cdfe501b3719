"""Every change to an order, its lines and its payments goes through here, validated and recorded.

An order is locked (SELECT ... FOR UPDATE) before anything that depends on its balance or its status,
so two payments at two desks, or two clicks on "ready", apply one after the other.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appointments.models import EventSource
from apps.common.exceptions import ApplicationError
from apps.common.services import model_update
from apps.orders.models import (
    CLOSED_STATUSES,
    Lab,
    LineKind,
    Order,
    OrderEvent,
    OrderKind,
    OrderLine,
    OrderMessage,
    OrderMessagePurpose,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    ShopSettings,
)
from apps.orders.selectors import local_today, order_totals
from apps.orders.transitions import status_can_move
from apps.patients.models import PrescriptionStatus

log = logging.getLogger(__name__)

DETAIL_FIELDS = ["lab", "promised_date", "frame_brand", "frame_model", "frame_colour", "frame_size", "lens_type",
                 "lens_material", "lens_index", "treatments", "pd_od", "pd_os", "fitting_height", "segment_height",
                 "contact_lens_product", "notes"]
# What may still change once the lab has the order: when it is promised, and the notes.
LATE_FIELDS = {"promised_date", "notes"}
SETTINGS_FIELDS = ["currency", "opening_hours"]


def shop_settings_get(*, organization) -> ShopSettings:
    settings, _created = ShopSettings.objects.get_or_create(organization=organization)
    return settings


def shop_settings_update(*, organization, data: dict) -> ShopSettings:
    settings = shop_settings_get(organization=organization)
    if "currency" in data and data["currency"] != settings.currency and Order.objects.filter(
            organization=organization).exists():
        # Amounts are stored in the currency they were written in; changing it would misread them.
        raise ApplicationError(_("The currency cannot change once the clinic has orders."), field="currency")
    settings, _changed = model_update(instance=settings, fields=SETTINGS_FIELDS, data=data)
    return settings


def lab_create(*, organization, name: str, phone: str = "", email: str = "", turnaround_days: int = 7,
               is_active: bool = True) -> Lab:
    lab = Lab(organization=organization, name=(name or "").strip(), phone=phone, email=email,
              turnaround_days=turnaround_days, is_active=is_active)
    lab.full_clean(exclude=["organization"], validate_constraints=False)
    try:
        with transaction.atomic():
            lab.save()
    except IntegrityError as exc:
        raise ApplicationError(_("A lab with this name already exists."), field="name") from exc
    return lab


def lab_update(*, lab: Lab, data: dict) -> Lab:
    if "name" in data:
        data = {**data, "name": (data["name"] or "").strip()}
        if Lab.objects.filter(organization_id=lab.organization_id, name=data["name"]).exclude(pk=lab.pk).exists():
            raise ApplicationError(_("A lab with this name already exists."), field="name")
    lab, _changed = model_update(instance=lab, fields=["name", "phone", "email", "turnaround_days", "is_active"],
                                 data=data)
    return lab


def _record(order: Order, *, from_status: str, to_status: str, actor, source: str, note: str = "") -> None:
    OrderEvent.objects.create(organization_id=order.organization_id, order=order, actor=actor,
                              from_status=from_status, to_status=to_status, source=source, note=note[:300])


def _lock(order: Order) -> None:
    order.refresh_from_db(from_queryset=Order.objects.select_for_update(of=("self",)))


def _check_lab(organization, lab: Lab | None) -> None:
    if lab is not None and (lab.organization_id != organization.pk or not lab.is_active):
        raise ApplicationError(_("Choose an active lab of this clinic."), field="lab")


def _validate(order: Order) -> None:
    try:
        order.full_clean(exclude=["organization", "patient", "prescription", "lab", "created_by", "number"],
                         validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApplicationError(messages[0], field=field) from exc


@transaction.atomic
def order_create(*, organization, prescription, data: dict | None = None, actor=None,
                 source: str = EventSource.UI) -> Order:
    """A draft order from a final prescription of this clinic; the measurements start from the prescription's."""
    data = dict(data or {})
    if prescription is None or prescription.organization_id != organization.pk:
        raise ApplicationError(_("Choose a prescription of this clinic."), field="prescription")
    if prescription.status != PrescriptionStatus.FINAL:
        raise ApplicationError(_("Only a final prescription can be ordered; this one is %(status)s.")
                               % {"status": prescription.get_status_display()}, field="prescription")
    unknown = set(data) - set(DETAIL_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown field."), field=sorted(unknown)[0])
    _check_lab(organization, data.get("lab"))
    settings = ShopSettings.objects.select_for_update().filter(pk=shop_settings_get(organization=organization).pk).get()
    order = Order(organization=organization, patient=prescription.patient, prescription=prescription,
                  kind=OrderKind(prescription.kind), currency=settings.currency, number=settings.next_number,
                  created_by=actor, **data)
    if order.pd_od is None and order.pd_os is None:
        order.pd_od, order.pd_os = prescription.od_pd, prescription.os_pd
    if order.promised_date is None and order.lab is not None:
        order.promised_date = local_today(organization=organization) + dt.timedelta(days=order.lab.turnaround_days)
    _validate(order)
    order.save()
    settings.next_number += 1
    settings.save(update_fields=["next_number", "updated_at"])
    _record(order, from_status="", to_status=OrderStatus.DRAFT, actor=actor, source=source)
    return order


@transaction.atomic
def order_update(*, order: Order, data: dict, actor=None) -> Order:
    _lock(order)
    unknown = set(data) - set(DETAIL_FIELDS)
    if unknown:
        raise ApplicationError(_("Unknown field."), field=sorted(unknown)[0])
    changing = {field for field in data if getattr(order, field) != data[field]}
    if order.status != OrderStatus.DRAFT:
        locked = sorted(changing - LATE_FIELDS)
        if locked:
            raise ApplicationError(_("The lab already has this order: only the promised date and the notes can "
                                     "change."), field=locked[0])
        if order.status in CLOSED_STATUSES and changing:
            raise ApplicationError(_("A closed order cannot change."), field=sorted(changing)[0])
    if "lab" in changing:
        _check_lab(order.organization, data["lab"])
    for field in changing:
        setattr(order, field, data[field])
    if changing:
        _validate(order)
        order.save(update_fields=[*sorted(changing), "updated_at"])
    return order


@transaction.atomic
def order_status_change(*, order: Order, to_status: str, actor=None, source: str = EventSource.UI) -> Order:
    """One move along the transition table; reaching `ready` tells the patient on WhatsApp (once)."""
    if to_status not in OrderStatus.values:
        raise ApplicationError(_("Unknown status."), field="status")
    _lock(order)
    from_status = order.status
    if to_status == from_status:
        return order
    if not status_can_move(from_status, to_status):
        raise ApplicationError(
            _("An order cannot go from %(from)s to %(to)s.")
            % {"from": order.get_status_display(), "to": OrderStatus(to_status).label}, field="status")
    if to_status == OrderStatus.SENT_TO_LAB:
        if order.lab_id is None:
            raise ApplicationError(_("Choose the lab before sending the order."), field="lab")
        if not order.lines.exists():
            raise ApplicationError(_("Add what the order sells before sending it to the lab."), field="lines")
    if to_status == OrderStatus.DELIVERED:
        balance = order_totals(order=order)["balance"]
        if balance > 0:
            raise ApplicationError(_("%(balance)s is still due: record the payment before delivering.")
                                   % {"balance": order.money(balance)}, field="status")
    now = timezone.now()
    order.status = to_status
    fields = ["status", "updated_at"]
    if to_status == OrderStatus.READY and order.ready_at is None:
        order.ready_at = now
        fields.append("ready_at")
    if to_status == OrderStatus.DELIVERED:
        order.delivered_at = now
        fields.append("delivered_at")
    order.save(update_fields=fields)
    note = _ready_message_queue(order) if to_status == OrderStatus.READY else ""
    _record(order, from_status=from_status, to_status=to_status, actor=actor, source=source, note=note)
    return order


def _ready_message_queue(order: Order) -> str:
    """Queue "your glasses are ready" unless it went out already; returns why it was not sent, or ""."""
    from apps.notifications.models import MessageKind
    from apps.notifications.outbox import patient_notice_queue
    from apps.orders.notices import order_ready_body

    if OrderMessage.objects.filter(order=order, purpose=OrderMessagePurpose.READY).exists():
        return ""
    try:
        with transaction.atomic():
            message = patient_notice_queue(organization=order.organization, patient=order.patient,
                                           kind=MessageKind.ORDER_READY, body=order_ready_body(order=order))
            OrderMessage.objects.create(organization_id=order.organization_id, order=order, message=message,
                                        purpose=OrderMessagePurpose.READY)
    except ApplicationError as exc:
        return _("WhatsApp not sent: %(reason)s") % {"reason": exc.message}
    except IntegrityError:
        return ""  # the constraint held: another transaction queued it first
    return ""


@transaction.atomic
def order_line_add(*, order: Order, kind: str, description: str, unit_price: int, quantity: int = 1,
                   discount: int = 0) -> OrderLine:
    _lock(order)
    if order.status in CLOSED_STATUSES:
        raise ApplicationError(_("A closed order cannot change."), field="kind")
    if kind not in LineKind.values:
        raise ApplicationError(_("Choose what the line sells."), field="kind")
    if not (description or "").strip():
        raise ApplicationError(_("Describe the item."), field="description")
    if isinstance(unit_price, float) or isinstance(discount, float):
        raise ApplicationError(_("Amounts are whole numbers of minor units."), field="unit_price")
    if unit_price is None or unit_price < 0:
        raise ApplicationError(_("The price cannot be negative."), field="unit_price")
    if quantity is None or quantity < 1:
        raise ApplicationError(_("The quantity must be at least 1."), field="quantity")
    if discount is None or discount < 0:
        raise ApplicationError(_("The discount cannot be negative."), field="discount")
    if discount > quantity * unit_price:
        raise ApplicationError(_("The discount cannot be larger than the price."), field="discount")
    return OrderLine.objects.create(organization_id=order.organization_id, order=order, kind=kind,
                                    description=description.strip()[:200], quantity=quantity, unit_price=unit_price,
                                    discount=discount)


@transaction.atomic
def order_line_remove(*, line: OrderLine) -> None:
    order = line.order
    _lock(order)
    if order.status in CLOSED_STATUSES:
        raise ApplicationError(_("A closed order cannot change."), field="lines")
    totals = order_totals(order=order)
    if totals["total"] - line.total < totals["paid"]:
        raise ApplicationError(_("Without this line the order would be worth less than what was already paid."),
                               field="lines")
    line.delete()


@transaction.atomic
def payment_record(*, order: Order, amount: int, method: str, reference: str = "", actor=None,
                   received_at: dt.datetime | None = None) -> Payment:
    """A deposit ("abono") or the balance; never more than what is still due."""
    _lock(order)
    if order.status == OrderStatus.CANCELLED:
        raise ApplicationError(_("This order is cancelled."), field="amount")
    if method not in PaymentMethod.values:
        raise ApplicationError(_("Choose how the patient paid."), field="method")
    if isinstance(amount, float) or amount is None:
        raise ApplicationError(_("Amounts are whole numbers of minor units."), field="amount")
    if amount <= 0:
        raise ApplicationError(_("The amount must be more than zero."), field="amount")
    balance = order_totals(order=order)["balance"]
    if amount > balance:
        raise ApplicationError(_("The payment (%(amount)s) is more than the balance due (%(balance)s).")
                               % {"amount": order.money(amount), "balance": order.money(balance)}, field="amount")
    return Payment.objects.create(
        organization_id=order.organization_id, order=order, amount=amount, currency=order.currency, method=method,
        kind=PaymentKind.BALANCE if amount == balance else PaymentKind.DEPOSIT, reference=(reference or "")[:80],
        received_by=actor, received_at=received_at or timezone.now(),
    )


@transaction.atomic
def order_receipt_send(*, order: Order, actor=None) -> OrderMessage:
    """The receipt PDF to the patient's WhatsApp, through the notifications' media sending."""
    from django.utils import translation

    from apps.notifications.models import AttachmentKind
    from apps.notifications.rendering import language_for
    from apps.notifications.services import message_send_media
    from apps.orders.receipts import receipt_filename, receipt_pdf

    with translation.override(language_for(order.patient)):
        caption = _("Receipt of your order %(order)s at %(clinic)s.") % {"order": order.reference,
                                                                          "clinic": order.organization.name}
        content = receipt_pdf(order=order)
    message = message_send_media(organization=order.organization, patient=order.patient, content=content,
                                 filename=receipt_filename(order=order), content_type="application/pdf",
                                 kind=AttachmentKind.DOCUMENT, caption=caption, sent_by=actor)
    return OrderMessage.objects.create(organization_id=order.organization_id, order=order, message=message,
                                       purpose=OrderMessagePurpose.RECEIPT)
