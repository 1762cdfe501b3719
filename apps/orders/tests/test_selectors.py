"""The cash report, the overdue list and the dashboard figures: per clinic, per local day."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.orders.models import Order, OrderStatus
from apps.orders.selectors import cash_report, orders_by_status, orders_overdue_at_lab, revenue_by_day
from apps.orders.services import payment_record
from apps.orders.tests.conftest import PESOS, local_noon
from apps.orders.tests.factories import LabFactory
from apps.patients.tests.factories import PrescriptionFactory

pytestmark = pytest.mark.django_db


def test_the_cash_report_adds_up_one_local_day_per_method(organization, make_order):
    order = make_order()
    today = timezone.now().astimezone(organization.zone).date()
    payment_record(order=order, amount=100_000 * PESOS, method="cash", received_at=local_noon(organization, today))
    payment_record(order=order, amount=50_000 * PESOS, method="nequi", received_at=local_noon(organization, today))
    payment_record(order=order, amount=20_000 * PESOS, method="cash", received_at=local_noon(organization, today))
    # 23:30 the day before in Bogotá is already "today" in UTC: it belongs to yesterday's report.
    late = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(23, 30), tzinfo=organization.zone)
    payment_record(order=order, amount=10_000 * PESOS, method="card", received_at=late)

    report = cash_report(organization=organization, day=today)

    amounts = {row["method"]: (row["count"], row["amount"]) for row in report["by_method"]}
    assert amounts == {"cash": (2, 12_000_000), "nequi": (1, 5_000_000), "card": (0, 0), "transfer": (0, 0),
                       "daviplata": (0, 0)}
    assert report["total"] == 17_000_000
    assert cash_report(organization=organization, day=today - dt.timedelta(days=1))["total"] == 1_000_000


def test_another_clinics_money_is_not_counted(organization, other_organization, make_order):
    from apps.orders.services import order_create, order_line_add

    theirs = order_create(organization=other_organization,
                          prescription=PrescriptionFactory(final=True, patient__organization=other_organization))
    order_line_add(order=theirs, kind="frame", description="Montura", unit_price=1_000_000)
    payment_record(order=theirs, amount=1_000_000, method="cash")
    today = timezone.now().astimezone(organization.zone).date()

    assert cash_report(organization=organization, day=today)["total"] == 0
    assert revenue_by_day(organization=organization, first=today, last=today) == [{"day": today, "amount": 0}]
    assert orders_by_status(organization=organization)["draft"] == 0


def test_orders_past_their_promised_date_at_the_lab_are_overdue(organization, make_order):
    today = timezone.now().astimezone(organization.zone).date()
    late = make_order(status=OrderStatus.IN_LAB, promised_date=today - dt.timedelta(days=2))
    make_order(status=OrderStatus.SENT_TO_LAB, promised_date=today)  # due today: not late yet
    make_order(status=OrderStatus.READY, promised_date=today - dt.timedelta(days=5))  # back already
    make_order(promised_date=today - dt.timedelta(days=5))  # still a draft: not at the lab

    assert list(orders_overdue_at_lab(organization=organization)) == [late]


def test_the_overdue_list_is_the_clinics_own(organization, other_organization):
    from apps.orders.services import order_create, order_line_add, order_status_change

    rx = PrescriptionFactory(final=True, patient__organization=other_organization)
    theirs = order_create(organization=other_organization, prescription=rx,
                          data={"lab": LabFactory(organization=other_organization),
                                "promised_date": dt.date(2020, 1, 1)})
    order_line_add(order=theirs, kind="frame", description="Montura", unit_price=100)
    order_status_change(order=theirs, to_status="sent_to_lab")

    assert Order.objects.count() == 1
    assert not orders_overdue_at_lab(organization=organization).exists()
    assert list(orders_overdue_at_lab(organization=other_organization)) == [theirs]
