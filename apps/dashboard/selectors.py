"""Figures for the home page; every query is scoped to one organization."""

from __future__ import annotations

import datetime as dt

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentStatus, CancelledBy, ConfirmationStatus
from apps.notifications.models import Message, MessageKind, MessageStatus, StaffAlert
from apps.organizations.scoping import scoped

NO_ANSWER = (ConfirmationStatus.REQUESTED, ConfirmationStatus.NO_RESPONSE)
# Visits whose outcome is known: the patient came, or did not.
ATTENDED = (AppointmentStatus.ARRIVED, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED)


def local_day_bounds(*, organization, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = organization.zone
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


def local_today(*, organization, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(organization.zone).date()


def appointments_by_status(*, organization, day: dt.date) -> dict[str, int]:
    start, end = local_day_bounds(organization=organization, day=day)
    rows = (scoped(Appointment, organization).filter(start__gte=start, start__lt=end)
            .order_by().values("status").annotate(n=Count("id")))
    counts = {status: 0 for status in AppointmentStatus.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def confirmation_summary(*, organization, day: dt.date) -> dict[str, int]:
    """confirmed / declined / no answer (asked, not answered) / not asked, for one local day.

    Appointments cancelled by staff are left out: they no longer wait for any answer.
    """
    start, end = local_day_bounds(organization=organization, day=day)
    appointments = (scoped(Appointment, organization).filter(start__gte=start, start__lt=end)
                    .exclude(status=AppointmentStatus.CANCELLED, cancelled_by=CancelledBy.STAFF))
    return appointments.aggregate(
        confirmed=Count("id", filter=Q(confirmation=ConfirmationStatus.CONFIRMED)),
        declined=Count("id", filter=Q(confirmation=ConfirmationStatus.DECLINED)),
        no_answer=Count("id", filter=Q(confirmation__in=NO_ANSWER)),
        callback=Count("id", filter=Q(confirmation=ConfirmationStatus.CALLBACK_REQUESTED)),
        not_asked=Count("id", filter=Q(confirmation=ConfirmationStatus.UNCONFIRMED)),
        total=Count("id"),
    )


def reminder_funnel(*, organization, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Reminders created in [start, end): how many were sent, delivered, read, and then confirmed."""
    reminders = scoped(Message, organization).filter(kind=MessageKind.REMINDER, created_at__gte=start,
                                                     created_at__lt=end)
    reached_sent = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
    reached_delivered = (MessageStatus.DELIVERED, MessageStatus.READ)
    return reminders.aggregate(
        reminders=Count("id"),
        sent=Count("id", filter=Q(status__in=reached_sent)),
        delivered=Count("id", filter=Q(status__in=reached_delivered)),
        read=Count("id", filter=Q(status=MessageStatus.READ)),
        confirmed=Count("appointment", distinct=True,
                        filter=Q(status__in=reached_sent, appointment__confirmation=ConfirmationStatus.CONFIRMED)),
    )


def no_show_by_week(*, organization, start: dt.datetime, end: dt.datetime) -> list[dict]:
    """Per week (Monday, clinic time): no-show rate of visits with a confirmed reminder and without.

    "With a confirmed reminder": a reminder went out for the visit and the patient confirmed it.
    Only visits whose outcome is known count (attended, or no-show).
    """
    reminded = Message.objects.filter(appointment=OuterRef("pk"), kind=MessageKind.REMINDER).exclude(
        status__in=(MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.FAILED))
    visits = (scoped(Appointment, organization)
              .filter(start__gte=start, start__lt=end, status__in=(*ATTENDED, AppointmentStatus.NO_SHOW))
              .annotate(with_reminder=ExpressionWrapper(Exists(reminded) & Q(confirmation=ConfirmationStatus.CONFIRMED),
                                                     output_field=BooleanField()))
              .annotate(week=TruncWeek("start", tzinfo=organization.zone))
              .order_by().values("week", "with_reminder")
              .annotate(total=Count("id"), no_shows=Count("id", filter=Q(status=AppointmentStatus.NO_SHOW))))
    weeks: dict[dt.date, dict] = {}
    for row in visits:
        week = row["week"].date()
        entry = weeks.setdefault(week, {"week": week, "with_total": 0, "with_no_shows": 0,
                                        "without_total": 0, "without_no_shows": 0})
        prefix = "with" if row["with_reminder"] else "without"
        entry[f"{prefix}_total"] += row["total"]
        entry[f"{prefix}_no_shows"] += row["no_shows"]
    result = []
    for week in sorted(weeks):
        entry = weeks[week]
        entry["with_rate"] = _rate(entry["with_no_shows"], entry["with_total"])
        entry["without_rate"] = _rate(entry["without_no_shows"], entry["without_total"])
        result.append(entry)
    return result


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def whatsapp_session(*, organization):
    from apps.whatsapp.models import WhatsAppSession

    return WhatsAppSession.objects.filter(organization=organization).first()


def staff_alerts_open(*, organization) -> QuerySet[StaffAlert]:
    return (scoped(StaffAlert, organization).filter(handled_at__isnull=True)
            .select_related("patient", "appointment").order_by("-created_at"))


def staff_alerts_recently_handled(*, organization, limit: int = 20) -> QuerySet[StaffAlert]:
    return (scoped(StaffAlert, organization).filter(handled_at__isnull=False)
            .select_related("patient", "handled_by").order_by("-handled_at")[:limit])
