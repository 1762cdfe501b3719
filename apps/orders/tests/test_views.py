"""The shop's pages as the front desk uses them."""

import pytest
from django.urls import reverse

from apps.orders.models import Lab, Order, OrderLine, OrderStatus, Payment
from apps.orders.tests.factories import LabFactory

pytestmark = pytest.mark.django_db


def test_a_final_prescription_offers_a_new_order(staff_client, prescription):
    page = staff_client.get(reverse("prescription-detail", args=[prescription.pk]))

    assert reverse("order-create", args=[prescription.pk]) in page.content.decode()


def test_staff_create_an_order_from_the_prescription(staff_client, prescription, lab):
    response = staff_client.post(reverse("order-create", args=[prescription.pk]), {
        "lab": lab.pk, "frame_brand": "Ray-Ban", "frame_model": "Clubmaster", "lens_type": "progressive",
        "lens_material": "polycarbonate", "lens_index": "1.59", "treatments": ["anti_reflective", "blue_filter"],
        "pd_od": "31.5", "pd_os": "32", "fitting_height": "22", "segment_height": "18",
    })

    order = Order.objects.get()
    assert response.status_code == 302 and response.url == reverse("order-detail", args=[order.pk])
    assert order.treatments == ["anti_reflective", "blue_filter"] and order.lens_type == "progressive"


def test_a_bad_measurement_is_shown_on_its_field(staff_client, prescription, lab):
    response = staff_client.post(reverse("order-create", args=[prescription.pk]), {"lab": lab.pk, "pd_od": "90"})

    assert response.status_code == 400
    assert 'data-field="pd_od"' in response.content.decode()
    assert not Order.objects.exists()


def test_lines_payments_and_moves_from_the_detail_page(staff_client, make_order):
    order = make_order(status=OrderStatus.RECEIVED)
    detail = reverse("order-detail", args=[order.pk])

    staff_client.post(reverse("order-line-add", args=[order.pk]),
                      {"kind": "treatment", "description": "Tinte gris", "quantity": 1, "unit_price": "40.000",
                       "discount": ""})
    staff_client.post(reverse("order-payment-add", args=[order.pk]), {"amount": "240.000", "method": "daviplata"})
    staff_client.post(reverse("order-status", args=[order.pk]), {"status": "ready"})

    page = staff_client.get(detail).content.decode()
    assert "Tinte gris" in page
    assert 'data-balance="30000000"' in page  # $ 540.000 − $ 240.000
    assert Payment.objects.get().amount == 24_000_000
    assert Order.objects.get(pk=order.pk).status == "ready"


def test_a_payment_above_the_balance_shows_on_the_amount_and_saves_nothing(staff_client, make_order):
    order = make_order()

    response = staff_client.post(reverse("order-payment-add", args=[order.pk]),
                                 {"amount": "500.001", "method": "cash"})

    assert response.status_code == 400
    assert 'data-field="amount"' in response.content.decode()
    assert not Payment.objects.exists()


def test_a_negative_price_shows_on_the_price(staff_client, make_order):
    order = make_order()

    response = staff_client.post(reverse("order-line-add", args=[order.pk]),
                                 {"kind": "frame", "description": "Montura", "quantity": 1, "unit_price": "-10"})

    assert response.status_code == 400
    assert 'data-field="unit_price"' in response.content.decode()
    assert order.lines.count() == 2


def test_an_illegal_move_is_explained_and_changes_nothing(staff_client, make_order):
    order = make_order()

    response = staff_client.post(reverse("order-status", args=[order.pk]), {"status": "delivered"}, follow=True)

    assert Order.objects.get(pk=order.pk).status == "draft"
    assert "alert-danger" in response.content.decode()


def test_the_lab_ticket_and_the_receipt(staff_client, make_order):
    order = make_order(status=OrderStatus.SENT_TO_LAB, notes="Biselado brillante")

    ticket = staff_client.get(reverse("order-ticket", args=[order.pk])).content.decode()
    receipt = staff_client.get(reverse("order-receipt", args=[order.pk]))

    assert "Laboratorio Central" in ticket and "Biselado brillante" in ticket and "Ray-Ban" in ticket
    assert receipt["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")


def test_the_list_flags_orders_overdue_at_the_lab(staff_client, make_order):
    import datetime as dt

    late = make_order(status=OrderStatus.IN_LAB, promised_date=dt.date(2020, 1, 1))

    page = staff_client.get(reverse("order-list") + "?overdue=on").content.decode()

    assert f'data-order-id="{late.pk}"' in page and "overdue-badge" in page


def test_the_cash_report_page(staff_client, make_order):
    from apps.orders.services import payment_record

    payment_record(order=make_order(), amount=12_345_600, method="transfer")

    page = staff_client.get(reverse("cash-report")).content.decode()

    assert 'id="cash-total" data-amount="12345600"' in page
    assert "$ 123.456" in page


def test_labs_are_added_and_edited(staff_client, organization):
    staff_client.post(reverse("lab-list"), {"name": "Lab Norte", "turnaround_days": 4, "is_active": "on"})
    lab = Lab.objects.get(organization=organization)
    staff_client.post(reverse("lab-edit", args=[lab.pk]), {"name": "Lab Norte", "turnaround_days": 6})

    lab.refresh_from_db()
    assert (lab.turnaround_days, lab.is_active) == (6, False)
    duplicate = staff_client.post(reverse("lab-list"), {"name": "Lab Norte", "turnaround_days": 4})
    assert duplicate.status_code == 400


def test_shop_settings_are_for_managers(client, staff_user, admin_user):
    client.force_login(staff_user)
    assert client.get(reverse("shop-settings")).status_code == 403
    client.force_login(admin_user)
    response = client.post(reverse("shop-settings"), {"currency": "COP", "opening_hours": "L-V 9-18"})
    assert response.status_code == 302


@pytest.mark.parametrize("name", ["order-detail", "order-edit", "order-ticket", "order-receipt"])
def test_another_clinics_order_is_not_found(client, other_user, make_order, name):
    order = make_order()
    client.force_login(other_user)

    assert client.get(reverse(name, args=[order.pk])).status_code == 404


@pytest.mark.parametrize(("name", "data"), [
    ("order-status", {"status": "sent_to_lab"}), ("order-payment-add", {"amount": "1000", "method": "cash"}),
    ("order-line-add", {"kind": "frame", "description": "x", "quantity": 1, "unit_price": "1"}),
])
def test_another_clinic_cannot_change_the_order(client, other_user, make_order, name, data):
    order = make_order()
    client.force_login(other_user)

    assert client.post(reverse(name, args=[order.pk]), data).status_code == 404
    assert Order.objects.get(pk=order.pk).status == "draft"
    assert not Payment.objects.exists() and OrderLine.objects.count() == 2


def test_another_clinics_prescription_lab_and_line_are_not_found(client, other_user, make_order, prescription, lab):
    order = make_order()
    line = order.lines.first()
    client.force_login(other_user)

    assert client.get(reverse("order-create", args=[prescription.pk])).status_code == 404
    assert client.get(reverse("lab-edit", args=[lab.pk])).status_code == 404
    assert client.post(reverse("order-line-remove", args=[order.pk, line.pk])).status_code == 404
    assert OrderLine.objects.filter(pk=line.pk).exists()


def test_lists_show_only_the_clinics_own(client, other_user, other_organization, make_order):
    make_order()
    LabFactory(organization=other_organization, name="Lab del Sur")
    client.force_login(other_user)

    assert "data-order-id" not in client.get(reverse("order-list")).content.decode()
    labs = client.get(reverse("lab-list")).content.decode()
    assert "Laboratorio Central" not in labs and "Lab del Sur" in labs


def test_staff_send_the_receipt_on_whatsapp(staff_client, make_order, any_hour):
    from apps.notifications.models import Message

    order = make_order()

    response = staff_client.post(reverse("order-receipt-send", args=[order.pk]))

    assert response.status_code == 302
    message = Message.objects.get(order_link__order=order, order_link__purpose="receipt")
    attachment = message.attachment
    assert attachment.mime_type == "application/pdf" and attachment.filename.endswith(f"-{order.number}.pdf")
    assert message.body == f"Recibo de tu pedido #{order.number} en {order.organization.name}."


def test_no_receipt_goes_to_a_patient_who_wrote_stop(staff_client, make_order, patient):
    from apps.notifications.models import Message
    from apps.patients.services.patients import patient_whatsapp_opt_out

    order = make_order()
    patient_whatsapp_opt_out(patient=patient)

    response = staff_client.post(reverse("order-receipt-send", args=[order.pk]), follow=True)

    assert "alert-danger" in response.content.decode()
    assert not Message.objects.exists()
