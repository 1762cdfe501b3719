"""Reads of the optical shop; every query is scoped to one organization."""

from __future__ import annotations

import datetime as dt

from django.db.models import BigIntegerField, Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from apps.orders.models import (
    AT_LAB_STATUSES,
    Lab,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
    ShopSettings,
)
from apps.organizations.scoping import scoped


def _sum_of(queryset: QuerySet, expression) -> Coalesce:
    # A subquery per order, so that lines and payments never multiply each other in a join.
    summed = (queryset.order_by().values("order").annotate(total=Sum(expression)).values("total"))
    return Coalesce(Subquery(summed, output_field=BigIntegerField()), Value(0), output_field=BigIntegerField())


def with_totals(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Annotates `total` (lines less their discounts), `paid` and `balance`, in minor units."""
    lines = OrderLine.objects.filter(order=OuterRef("pk"))
    payments = Payment.objects.filter(order=OuterRef("pk"))
    return (queryset
            .annotate(subtotal=_sum_of(lines, F("quantity") * F("unit_price")),
                      discount_total=_sum_of(lines, F("discount")),
                      paid=_sum_of(payments, F("amount")))
            .annotate(total=F("subtotal") - F("discount_total"))
            .annotate(balance=F("total") - F("paid")))


def order_totals(*, order: Order) -> dict[str, int]:
    row = with_totals(Order.objects.filter(pk=order.pk)).values("subtotal", "discount_total", "total", "paid",
                                                                  "balance").get()
    return row


def order_list(*, organization, filters: dict | None = None) -> QuerySet[Order]:
    """Filters: status (list), patient, lab, overdue (bool), q (order number)."""
    filters = filters or {}
    qs = with_totals(scoped(Order, organization).select_related("patient", "lab"))
    if filters.get("status"):
        qs = qs.filter(status__in=list(filters["status"]))
    if filters.get("patient"):
        qs = qs.filter(patient_id=filters["patient"])
    if filters.get("lab"):
        qs = qs.filter(lab_id=filters["lab"])
    if filters.get("overdue"):
        qs = qs.filter(_overdue_q(organization))
    if filters.get("number"):
        qs = qs.filter(number=filters["number"])
    return qs.order_by("-created_at", "-id")


def local_today(*, organization, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(organization.zone).date()


def _overdue_q(organization, now: dt.datetime | None = None) -> Q:
    return Q(status__in=AT_LAB_STATUSES, promised_date__lt=local_today(organization=organization, now=now))


def orders_overdue_at_lab(*, organization, now: dt.datetime | None = None) -> QuerySet[Order]:
    """At the lab (sent or in the lab) past the promised date, the most late first."""
    return (scoped(Order, organization).filter(_overdue_q(organization, now))
            .select_related("patient", "lab").order_by("promised_date", "id"))


def order_is_overdue(*, order: Order, now: dt.datetime | None = None) -> bool:
    return (order.status in AT_LAB_STATUSES and order.promised_date is not None
            and order.promised_date < local_today(organization=order.organization, now=now))


def labs_active(*, organization) -> QuerySet[Lab]:
    return scoped(Lab, organization).filter(is_active=True).order_by("name")


def _day_bounds(organization, first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = organization.zone
    return (dt.datetime.combine(first, dt.time.min, tzinfo=zone),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone))


def payments_between(*, organization, first: dt.date, last: dt.date) -> QuerySet[Payment]:
    start, end = _day_bounds(organization, first, last)
    return (scoped(Payment, organization).filter(received_at__gte=start, received_at__lt=end)
            .select_related("order__patient", "received_by").order_by("received_at", "id"))


def cash_report(*, organization, day: dt.date) -> dict:
    """One local day of the clinic: every payment, and the totals per method (every method listed)."""
    payments = list(payments_between(organization=organization, first=day, last=day))
    by_method = {method: {"method": method, "label": label, "count": 0, "amount": 0}
                 for method, label in PaymentMethod.choices}
    for payment in payments:
        by_method[payment.method]["count"] += 1
        by_method[payment.method]["amount"] += payment.amount
    return {"day": day, "payments": payments, "by_method": list(by_method.values()),
            "total": sum(p.amount for p in payments), "count": len(payments)}


def orders_by_status(*, organization) -> dict[str, int]:
    rows = scoped(Order, organization).order_by().values("status").annotate(n=Count("id"))
    counts = dict.fromkeys(OrderStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def revenue_by_day(*, organization, first: dt.date, last: dt.date) -> list[dict]:
    """Money received per local day (every day of the period listed, zero when nothing came in)."""
    rows = (payments_between(organization=organization, first=first, last=last)
            .annotate(day=TruncDate("received_at", tzinfo=organization.zone))
            .order_by().values("day").annotate(amount=Sum("amount")))
    amounts = {row["day"]: row["amount"] for row in rows}
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [{"day": day, "amount": amounts.get(day, 0)} for day in days]


def revenue_by_method(*, organization, first: dt.date, last: dt.date) -> list[dict]:
    rows = (payments_between(organization=organization, first=first, last=last)
            .order_by().values("method").annotate(amount=Sum("amount"), count=Count("id")))
    found = {row["method"]: row for row in rows}
    return [{"method": method, "label": label, "amount": found.get(method, {}).get("amount", 0),
             "count": found.get(method, {}).get("count", 0)} for method, label in PaymentMethod.choices]


def shop_currency(*, organization) -> str:
    return (ShopSettings.objects.filter(organization=organization).values_list("currency", flat=True).first()
            or ShopSettings._meta.get_field("currency").default)
