"""The shop's API: orders, lines, payments and labs, each scoped to the token's clinic."""

import pytest

from apps.orders.models import Lab, Order, OrderLine, Payment
from apps.orders.tests.factories import LabFactory
from apps.patients.tests.factories import PrescriptionFactory
from conftest import api_client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_api(other_user, other_organization):
    return api_client_for(other_user, other_organization)


def test_an_order_from_creation_to_delivery(staff_api, prescription, lab):
    created = staff_api.post("/api/orders/", {"prescription": prescription.pk, "lab": lab.pk, "frame_brand": "Oakley",
                                              "treatments": ["tint"], "pd_od": "31.5"}, format="json")
    assert created.status_code == 201, created.json()
    order_id = created.json()["id"]
    line = staff_api.post(f"/api/orders/{order_id}/lines/", {"kind": "frame", "description": "Montura Oakley",
                                                              "unit_price": 35_000_000}, format="json")
    assert line.status_code == 201 and line.json()["total"] == 35_000_000
    for status in ("sent_to_lab", "in_lab", "received", "ready"):
        moved = staff_api.post(f"/api/orders/{order_id}/status/", {"status": status}, format="json")
        assert moved.status_code == 200, moved.json()
    deposit = staff_api.post("/api/payments/", {"order": order_id, "amount": 10_000_000, "method": "nequi"},
                             format="json")
    balance = staff_api.post("/api/payments/", {"order": order_id, "amount": 25_000_000, "method": "card"},
                             format="json")
    delivered = staff_api.post(f"/api/orders/{order_id}/status/", {"status": "delivered"}, format="json")

    assert (deposit.json()["kind"], balance.json()["kind"]) == ("deposit", "balance")
    body = delivered.json()
    assert (body["status"], body["total"], body["paid"], body["balance"]) == ("delivered", 35_000_000, 35_000_000, 0)
    assert [e["to_status"] for e in body["events"]] == ["draft", "sent_to_lab", "in_lab", "received", "ready",
                                                         "delivered"]
    assert {e["source"] for e in body["events"]} == {"api"}


def test_orders_are_listed_with_filters(staff_api, make_order):
    import datetime as dt

    late = make_order(status="in_lab", promised_date=dt.date(2020, 1, 1))
    make_order()

    listed = staff_api.get("/api/orders/", {"overdue": "true"}).json()
    by_status = staff_api.get("/api/orders/", {"status": "draft"}).json()

    assert [o["id"] for o in listed["results"]] == [late.pk]
    assert by_status["count"] == 1 and by_status["results"][0]["status"] == "draft"


@pytest.mark.parametrize(("url", "body", "field"), [
    ("/api/orders/{id}/status/", {"status": "delivered"}, "status"),
    ("/api/orders/{id}/status/", {"status": "teleported"}, "status"),
    ("/api/orders/{id}/lines/", {"kind": "frame", "description": "x", "unit_price": -5}, "unit_price"),
    ("/api/orders/{id}/lines/", {"kind": "frame", "description": "x", "unit_price": 12.5}, "unit_price"),
    ("/api/orders/{id}/lines/", {"kind": "frame", "description": "x", "unit_price": 100, "discount": 101},
     "discount"),
    ("/api/payments/", {"order": "{id}", "amount": 50_000_001, "method": "cash"}, "amount"),
    ("/api/payments/", {"order": "{id}", "amount": 1000.5, "method": "cash"}, "amount"),
    ("/api/payments/", {"order": "{id}", "amount": 1000, "method": "cheque"}, "method"),
])
def test_bad_input_answers_400_naming_the_field_and_saves_nothing(staff_api, make_order, url, body, field):
    order = make_order()
    body = {key: order.pk if value == "{id}" else value for key, value in body.items()}

    response = staff_api.post(url.format(id=order.pk), body, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert response.json()["detail"].startswith(f"{field}: ")
    assert Order.objects.get(pk=order.pk).status == "draft"
    assert OrderLine.objects.count() == 2 and not Payment.objects.exists()


def test_an_order_from_another_clinics_prescription_is_refused(staff_api, other_organization):
    foreign = PrescriptionFactory(final=True, patient__organization=other_organization)

    response = staff_api.post("/api/orders/", {"prescription": foreign.pk}, format="json")

    assert response.status_code == 400 and "prescription" in response.json()["fields"]
    assert not Order.objects.exists()


def test_another_clinics_lab_is_unknown(staff_api, prescription, other_organization):
    response = staff_api.post("/api/orders/", {"prescription": prescription.pk,
                                               "lab": LabFactory(organization=other_organization).pk}, format="json")

    assert response.status_code == 400 and "lab" in response.json()["fields"]


def test_a_locked_detail_names_the_field(staff_api, make_order):
    order = make_order(status="sent_to_lab")

    response = staff_api.patch(f"/api/orders/{order.pk}/", {"frame_model": "Otro"}, format="json")

    assert response.status_code == 400 and "frame_model" in response.json()["fields"]


def test_labs_are_listed_created_and_edited(staff_api, organization):
    created = staff_api.post("/api/labs/", {"name": "Lab Express", "turnaround_days": 2}, format="json")
    lab_id = created.json()["id"]
    edited = staff_api.patch(f"/api/labs/{lab_id}/", {"turnaround_days": 3}, format="json")
    duplicate = staff_api.post("/api/labs/", {"name": "Lab Express"}, format="json")

    assert created.status_code == 201 and edited.json()["turnaround_days"] == 3
    assert duplicate.status_code == 400 and "name" in duplicate.json()["fields"]
    assert Lab.objects.get().organization == organization


def test_payments_are_listed_by_order_and_day(staff_api, make_order, organization):
    from apps.orders.services import payment_record

    order = make_order()
    payment_record(order=order, amount=1_000, method="cash")
    payment_record(order=make_order(), amount=2_000, method="card")

    by_order = staff_api.get("/api/payments/", {"order": order.pk}).json()
    from django.utils import timezone
    today = timezone.now().astimezone(organization.zone).date().isoformat()
    by_day = staff_api.get("/api/payments/", {"date_from": today, "date_to": today}).json()

    assert [p["amount"] for p in by_order["results"]] == [1_000]
    assert by_day["count"] == 2


def test_another_clinics_objects_answer_404_and_are_never_listed(other_api, make_order):
    order = make_order()
    line = order.lines.first()
    from apps.orders.services import payment_record

    payment = payment_record(order=order, amount=1_000, method="cash")

    assert other_api.get(f"/api/orders/{order.pk}/").status_code == 404
    assert other_api.patch(f"/api/orders/{order.pk}/", {"notes": "x"}, format="json").status_code == 404
    assert other_api.post(f"/api/orders/{order.pk}/status/", {"status": "sent_to_lab"},
                          format="json").status_code == 404
    assert other_api.post(f"/api/orders/{order.pk}/lines/", {"kind": "frame", "description": "x", "unit_price": 1},
                          format="json").status_code == 404
    assert other_api.delete(f"/api/orders/{order.pk}/lines/{line.pk}/").status_code == 404
    assert other_api.get(f"/api/payments/{payment.pk}/").status_code == 404
    assert other_api.get(f"/api/labs/{order.lab_id}/").status_code == 404
    assert other_api.patch(f"/api/labs/{order.lab_id}/", {"name": "x"}, format="json").status_code == 404
    assert other_api.get("/api/orders/").json()["count"] == 0
    assert other_api.get("/api/payments/").json()["count"] == 0
    assert other_api.get("/api/labs/").json()["count"] == 0
    # Their order id is simply unknown for a payment.
    refused = other_api.post("/api/payments/", {"order": order.pk, "amount": 1, "method": "cash"}, format="json")
    assert refused.status_code == 400 and "order" in refused.json()["fields"]
    assert Payment.objects.count() == 1 and OrderLine.objects.filter(pk=line.pk).exists()


def test_the_resources_are_in_the_openapi_schema(staff_api):
    schema = staff_api.get("/api/schema/", {"format": "json"}).json()

    for path in ("/api/orders/", "/api/orders/{id}/", "/api/orders/{id}/status/", "/api/orders/{id}/lines/",
                 "/api/payments/", "/api/labs/", "/api/recalls/", "/api/recalls/{id}/", "/api/recalls/{id}/send/"):
        assert path in schema["paths"], path
