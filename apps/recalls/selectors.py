from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet

from apps.organizations.scoping import scoped
from apps.recalls.models import OPEN_STATUSES, Recall, RecallStatus


def recall_list(*, organization, filters: dict | None = None) -> QuerySet[Recall]:
    """Filters: status (list; default the open ones), rule kind, patient."""
    filters = filters or {}
    qs = scoped(Recall, organization).select_related("patient", "rule", "message", "appointment")
    statuses = list(filters.get("status") or [])
    if statuses:
        qs = qs.filter(status__in=statuses)
    if filters.get("kind"):
        qs = qs.filter(rule__kind=filters["kind"])
    if filters.get("patient"):
        qs = qs.filter(patient_id=filters["patient"])
    return qs.order_by("due_on", "id")


def recalls_open(*, organization) -> QuerySet[Recall]:
    return recall_list(organization=organization, filters={"status": OPEN_STATUSES})


def recall_conversion(*, organization, start: dt.datetime, end: dt.datetime) -> dict:
    """Recalls created in [start, end): how many were contacted, booked, declined; booked as a percentage."""
    figures = scoped(Recall, organization).filter(created_at__gte=start, created_at__lt=end).aggregate(
        total=Count("id"),
        contacted=Count("id", filter=Q(contacted_at__isnull=False)),
        booked=Count("id", filter=Q(status=RecallStatus.BOOKED)),
        declined=Count("id", filter=Q(status=RecallStatus.DECLINED)),
    )
    figures["rate"] = round(100.0 * figures["booked"] / figures["total"], 1) if figures["total"] else None
    return figures
