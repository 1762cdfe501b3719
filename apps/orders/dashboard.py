"""The shop's figures on the home page (the dashboard app includes them)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from apps.orders import selectors
from apps.orders.models import OrderStatus
from apps.orders.money import exponent


def shop_figures(*, organization, first: dt.date, last: dt.date) -> dict:
    currency = selectors.shop_currency(organization=organization)
    by_status = selectors.orders_by_status(organization=organization)
    per_day = selectors.revenue_by_day(organization=organization, first=first, last=last)
    per_method = selectors.revenue_by_method(organization=organization, first=first, last=last)
    scale = 10 ** exponent(currency)
    return {
        "currency": currency,
        "status_rows": [(status, OrderStatus(status).label, by_status[status]) for status in OrderStatus.values],
        "overdue": selectors.orders_overdue_at_lab(organization=organization)[:5],
        "overdue_count": selectors.orders_overdue_at_lab(organization=organization).count(),
        "revenue_total": sum(row["amount"] for row in per_day),
        "per_method": per_method,
        # Chart.js draws major units; the amounts themselves stay integers everywhere else.
        "chart": {
            "labels": [row["day"].isoformat() for row in per_day],
            "values": [row["amount"] // scale for row in per_day],
            "label": _("Received per day (%(currency)s)") % {"currency": currency},
            "method_labels": [str(row["label"]) for row in per_method],
            "method_values": [row["amount"] // scale for row in per_method],
        },
    }
