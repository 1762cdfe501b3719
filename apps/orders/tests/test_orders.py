"""Orders from a prescription, their lifecycle, their lines and their payments (the services)."""

import pytest
from django.db import IntegrityError, transaction

from apps.appointments.models import EventSource
from apps.common.exceptions import ApplicationError
from apps.orders.models import (
    LineKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
)
from apps.orders.selectors import order_totals
from apps.orders.services import (
    order_create,
    order_line_add,
    order_line_remove,
    order_status_change,
    order_update,
    payment_record,
    shop_settings_update,
)
from apps.orders.tests.conftest import PESOS
from apps.orders.tests.factories import LabFactory
from apps.patients.models import PrescriptionKind, PrescriptionStatus
from apps.patients.tests.factories import PrescriptionFactory

pytestmark = pytest.mark.django_db


def test_an_order_starts_as_a_draft_from_a_final_prescription(organization, prescription, lab, staff_user):
    order = order_create(organization=organization, prescription=prescription, actor=staff_user,
                         data={"lab": lab, "frame_brand": "Ray-Ban", "treatments": ["anti_reflective"]})

    assert order.status == OrderStatus.DRAFT
    assert order.patient == prescription.patient
    assert order.currency == "COP"
    # The measurements start from the prescription, the promised date from the lab's turnaround.
    assert (str(order.pd_od), str(order.pd_os)) == ("31.5", "32.0")
    assert order.promised_date is not None
    [event] = order.events.all()
    assert (event.from_status, event.to_status, event.actor, event.source) == ("", "draft", staff_user, "ui")


def test_orders_are_numbered_per_clinic(organization, other_organization, prescription, lab):
    first = order_create(organization=organization, prescription=prescription, data={"lab": lab})
    second = order_create(organization=organization, prescription=prescription, data={"lab": lab})
    elsewhere = order_create(organization=other_organization,
                             prescription=PrescriptionFactory(final=True, patient__organization=other_organization))

    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)


def test_a_contact_lens_prescription_makes_a_contact_lens_order(organization):
    rx = PrescriptionFactory(final=True, patient__organization=organization, kind=PrescriptionKind.CONTACT_LENS,
                                  od_base_curve="8.6", od_diameter="14.2")

    order = order_create(organization=organization, prescription=rx, data={"contact_lens_product": "Acuvue Oasys"})

    assert order.kind == "contact_lens"


def test_another_clinics_prescription_is_refused_and_nothing_is_saved(organization, other_organization):
    foreign = PrescriptionFactory(final=True, patient__organization=other_organization)

    with pytest.raises(ApplicationError) as refused:
        order_create(organization=organization, prescription=foreign)

    assert refused.value.field == "prescription"
    assert not Order.objects.exists()


def test_a_draft_prescription_cannot_be_ordered(organization):
    draft = PrescriptionFactory(patient__organization=organization, status=PrescriptionStatus.DRAFT)

    with pytest.raises(ApplicationError) as refused:
        order_create(organization=organization, prescription=draft)

    assert refused.value.field == "prescription"
    assert not Order.objects.exists()


def test_another_clinics_lab_is_refused(organization, other_organization, prescription):
    with pytest.raises(ApplicationError) as refused:
        order_create(organization=organization, prescription=prescription,
                     data={"lab": LabFactory(organization=other_organization)})

    assert refused.value.field == "lab"


def test_out_of_range_measurements_name_the_field(organization, prescription, lab):
    with pytest.raises(ApplicationError) as refused:
        order_create(organization=organization, prescription=prescription, data={"lab": lab, "pd_od": "55"})

    assert refused.value.field == "pd_od"
    assert not Order.objects.exists()


def test_the_whole_lifecycle_records_an_event_per_move(make_order, staff_user):
    order = make_order()
    for status in ("sent_to_lab", "in_lab", "received", "ready"):
        order_status_change(order=order, to_status=status, actor=staff_user, source=EventSource.API)
    payment_record(order=order, amount=order_totals(order=order)["balance"], method=PaymentMethod.CASH)
    order_status_change(order=order, to_status="delivered", actor=staff_user)

    order.refresh_from_db()
    assert order.status == "delivered" and order.delivered_at and order.ready_at
    moves = list(order.events.values_list("from_status", "to_status", "source"))
    assert moves == [("", "draft", "ui"), ("draft", "sent_to_lab", "api"), ("sent_to_lab", "in_lab", "api"),
                     ("in_lab", "received", "api"), ("received", "ready", "api"), ("ready", "delivered", "ui")]


@pytest.mark.parametrize(("path", "illegal"), [
    ([], "ready"),
    ([], "delivered"),
    (["sent_to_lab"], "draft"),
    (["sent_to_lab", "received", "ready"], "cancelled"),
    (["cancelled"], "sent_to_lab"),
])
def test_illegal_moves_are_refused_naming_the_status_and_change_nothing(make_order, path, illegal):
    order = make_order()
    for status in path:
        order_status_change(order=order, to_status=status)
    events = OrderEvent.objects.count()

    with pytest.raises(ApplicationError) as refused:
        order_status_change(order=order, to_status=illegal)

    assert refused.value.field == "status"
    assert Order.objects.get(pk=order.pk).status == (path[-1] if path else "draft")
    assert OrderEvent.objects.count() == events


def test_an_unknown_status_is_refused(make_order):
    with pytest.raises(ApplicationError) as refused:
        order_status_change(order=make_order(), to_status="shipped")
    assert refused.value.field == "status"


def test_setting_the_same_status_again_changes_nothing(make_order):
    order = make_order(status=OrderStatus.SENT_TO_LAB)
    events = order.events.count()

    order_status_change(order=order, to_status="sent_to_lab")

    assert order.events.count() == events


def test_an_order_goes_to_the_lab_only_with_a_lab_and_something_to_make(organization, prescription, lab):
    bare = order_create(organization=organization, prescription=prescription)
    with pytest.raises(ApplicationError) as no_lab:
        order_status_change(order=bare, to_status="sent_to_lab")
    order_update(order=bare, data={"lab": lab})
    with pytest.raises(ApplicationError) as no_lines:
        order_status_change(order=bare, to_status="sent_to_lab")

    assert (no_lab.value.field, no_lines.value.field) == ("lab", "lines")


def test_a_received_order_can_go_back_to_the_lab(make_order):
    order = make_order(status=OrderStatus.RECEIVED)

    order_status_change(order=order, to_status="in_lab")

    assert Order.objects.get(pk=order.pk).status == "in_lab"


def test_once_at_the_lab_only_the_promised_date_and_notes_change(make_order):
    order = make_order(status=OrderStatus.SENT_TO_LAB)

    with pytest.raises(ApplicationError) as refused:
        order_update(order=order, data={"frame_brand": "Oakley"})
    order_update(order=order, data={"notes": "El laboratorio pide dos días más."})

    assert refused.value.field == "frame_brand"
    assert Order.objects.get(pk=order.pk).notes.startswith("El laboratorio")


def test_delivery_waits_for_the_balance(make_order):
    order = make_order(status=OrderStatus.READY)

    with pytest.raises(ApplicationError) as refused:
        order_status_change(order=order, to_status="delivered")

    assert refused.value.field == "status"
    assert "500.000" in refused.value.message
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_totals_are_integers_of_minor_units(make_order):
    order = make_order()

    totals = order_totals(order=order)

    assert totals == {"subtotal": 55_000_000, "discount_total": 5_000_000, "total": 50_000_000, "paid": 0,
                      "balance": 50_000_000}
    assert all(isinstance(value, int) for value in totals.values())


def test_a_deposit_and_then_the_balance(make_order, staff_user):
    order = make_order()

    deposit = payment_record(order=order, amount=200_000 * PESOS, method=PaymentMethod.NEQUI, actor=staff_user)
    rest = payment_record(order=order, amount=300_000 * PESOS, method=PaymentMethod.CARD, reference="0042")

    assert (deposit.kind, rest.kind) == (PaymentKind.DEPOSIT, PaymentKind.BALANCE)
    assert deposit.received_by == staff_user
    assert order_totals(order=order)["balance"] == 0


def test_a_payment_above_the_balance_is_refused_naming_the_amount(make_order):
    order = make_order()
    payment_record(order=order, amount=400_000 * PESOS, method=PaymentMethod.CASH)

    with pytest.raises(ApplicationError) as refused:
        payment_record(order=order, amount=100_001 * PESOS, method=PaymentMethod.CASH)

    assert refused.value.field == "amount"
    assert "$ 100.000" in refused.value.message  # the balance, in the clinic's currency
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(("amount", "method", "field"), [
    (0, "cash", "amount"), (-5, "cash", "amount"), (10.5, "cash", "amount"), (100, "bitcoin", "method"),
])
def test_bad_payments_are_refused(make_order, amount, method, field):
    order = make_order()

    with pytest.raises(ApplicationError) as refused:
        payment_record(order=order, amount=amount, method=method)

    assert refused.value.field == field
    assert not Payment.objects.exists()


def test_a_cancelled_order_takes_no_payment(make_order):
    order = make_order()
    order_status_change(order=order, to_status="cancelled")

    with pytest.raises(ApplicationError):
        payment_record(order=order, amount=100, method="cash")


@pytest.mark.parametrize(("values", "field"), [
    ({"unit_price": -1}, "unit_price"),
    ({"unit_price": 1000, "discount": 1001}, "discount"),
    ({"unit_price": 1000, "discount": -1}, "discount"),
    ({"unit_price": 1000, "quantity": 0}, "quantity"),
    ({"unit_price": 1000, "kind": "sunglasses"}, "kind"),
    ({"unit_price": 1000, "description": "  "}, "description"),
    ({"unit_price": 99.5}, "unit_price"),
])
def test_bad_lines_are_refused_naming_the_field(make_order, values, field):
    order = make_order()
    lines = OrderLine.objects.count()
    arguments = {"kind": LineKind.TREATMENT, "description": "Tinte", **values}

    with pytest.raises(ApplicationError) as refused:
        order_line_add(order=order, **arguments)

    assert refused.value.field == field
    assert OrderLine.objects.count() == lines


def test_the_database_refuses_a_negative_price_however_it_arrives(make_order):
    order = make_order()

    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.create(organization=order.organization, order=order, kind="frame", description="x",
                                 unit_price=-100)


def test_a_line_cannot_go_if_the_order_would_be_worth_less_than_paid(make_order):
    order = make_order()
    payment_record(order=order, amount=400_000 * PESOS, method=PaymentMethod.CASH)
    frame = order.lines.get(kind=LineKind.FRAME)

    with pytest.raises(ApplicationError) as refused:
        order_line_remove(line=frame)

    assert refused.value.field == "lines"
    assert OrderLine.objects.filter(pk=frame.pk).exists()


def test_the_currency_is_fixed_once_the_clinic_has_orders(organization, make_order):
    shop_settings_update(organization=organization, data={"currency": "USD"})
    make_order()

    with pytest.raises(ApplicationError) as refused:
        shop_settings_update(organization=organization, data={"currency": "COP"})

    assert refused.value.field == "currency"
