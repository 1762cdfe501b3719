import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.appointments.models import AppointmentStatus, CancelledBy, ConfirmationStatus
from apps.appointments.tests.factories import AppointmentFactory
from apps.dashboard import selectors
from apps.inbox.tests.factories import linked_session
from apps.notifications.models import MessageKind, MessageStatus
from apps.notifications.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def _local(organization, day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=organization.zone)


def _today(organization):
    return selectors.local_today(organization=organization)


def _appointment(organization, day, hour, minute=0, **fields):
    start = _local(organization, day, hour, minute)
    return AppointmentFactory(organization=organization, start=start, end=start + dt.timedelta(minutes=30), **fields)


def _cancelled(by):
    return {"status": AppointmentStatus.CANCELLED, "cancelled_by": by, "cancelled_at": timezone.now()}


def test_todays_appointments_by_status_in_the_clinics_day(organization):
    today = _today(organization)
    _appointment(organization, today, 8)
    _appointment(organization, today, 9, status=AppointmentStatus.ARRIVED)
    _appointment(organization, today, 23, minute=15)  # late evening local time is still today
    _appointment(organization, today + dt.timedelta(days=1), 8)

    counts = selectors.appointments_by_status(organization=organization, day=today)

    assert counts[AppointmentStatus.SCHEDULED] == 2
    assert counts[AppointmentStatus.ARRIVED] == 1
    assert sum(counts.values()) == 3


def test_confirmations_for_a_day(organization):
    today = _today(organization)
    _appointment(organization, today, 8, confirmation=ConfirmationStatus.CONFIRMED)
    _appointment(organization, today, 9, confirmation=ConfirmationStatus.REQUESTED)
    _appointment(organization, today, 10, confirmation=ConfirmationStatus.NO_RESPONSE)
    _appointment(organization, today, 11, confirmation=ConfirmationStatus.DECLINED, **_cancelled(CancelledBy.PATIENT))
    _appointment(organization, today, 12, confirmation=ConfirmationStatus.REQUESTED, **_cancelled(CancelledBy.STAFF))
    _appointment(organization, today, 13)

    summary = selectors.confirmation_summary(organization=organization, day=today)

    assert (summary["confirmed"], summary["declined"], summary["no_answer"], summary["not_asked"]) == (1, 1, 2, 1)


def _reminder(organization, appointment, status):
    return MessageFactory(organization=organization, patient=appointment.patient, appointment=appointment,
                                  kind=MessageKind.REMINDER, appointment_start=appointment.start, status=status)


def test_the_reminder_funnel(organization):
    day = _today(organization) + dt.timedelta(days=3)
    statuses = [MessageStatus.QUEUED, MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ,
                MessageStatus.READ, MessageStatus.FAILED]
    for hour, status in enumerate(statuses, start=8):
        confirmation = ConfirmationStatus.CONFIRMED if hour in (11, 12) else ConfirmationStatus.REQUESTED
        _reminder(organization, _appointment(organization, day, hour, confirmation=confirmation), status)
    now = timezone.now()

    funnel = selectors.reminder_funnel(organization=organization, start=now - dt.timedelta(days=1),
                                       end=now + dt.timedelta(days=1))

    assert funnel == {"reminders": 6, "sent": 4, "delivered": 3, "read": 2, "confirmed": 2}


def test_no_show_rate_by_week_with_and_without_a_confirmed_reminder(organization):
    monday = _today(organization) - dt.timedelta(days=_today(organization).weekday() + 14)
    # With a confirmed reminder: 1 no-show in 4. Without: 2 in 4.
    for hour, status in zip(range(8, 12), [AppointmentStatus.COMPLETED] * 3 + [AppointmentStatus.NO_SHOW], strict=True):
        appointment = _appointment(organization, monday, hour, status=status, confirmation=ConfirmationStatus.CONFIRMED)
        _reminder(organization, appointment, MessageStatus.READ)
    for hour, status in zip(range(12, 16), [AppointmentStatus.COMPLETED] * 2 + [AppointmentStatus.NO_SHOW] * 2,
                            strict=True):
        _appointment(organization, monday + dt.timedelta(days=1), hour, status=status)
    _appointment(organization, monday, 16)  # still scheduled: no outcome, not counted

    start = _local(organization, monday - dt.timedelta(days=7), 0)
    [week] = selectors.no_show_by_week(organization=organization, start=start, end=timezone.now())

    assert week["week"] == monday
    assert (week["with_total"], week["with_rate"]) == (4, 25.0)
    assert (week["without_total"], week["without_rate"]) == (4, 50.0)


def test_the_home_page_shows_the_figures_and_the_charts(staff_client, organization):
    today = _today(organization)
    _appointment(organization, today, 9, confirmation=ConfirmationStatus.CONFIRMED)
    linked_session(organization)

    response = staff_client.get(reverse("home"))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-session-status="connected"' in html
    assert "vendor/chart.js/chart.umd.js" in html and 'id="chart-data"' in html
    assert response.context["confirmations"][0][2]["confirmed"] == 1
    assert response.context["today_total"] == 1


def test_a_chosen_period_drives_the_charts(staff_client, organization):
    response = staff_client.get(reverse("home"), {"date_from": "2026-01-01", "date_to": "2026-01-31"})
    assert response.context["period"] == (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    response = staff_client.get(reverse("home"), {"date_from": "2026-02-01", "date_to": "2026-01-01"})
    assert "The end must not be before the start." in response.content.decode()


def test_the_dashboard_counts_only_our_clinic(staff_client, organization, other_organization):
    today = _today(organization)
    _appointment(organization, today, 9)
    theirs = _appointment(other_organization, today, 10, confirmation=ConfirmationStatus.CONFIRMED)
    _reminder(other_organization, theirs, MessageStatus.READ)
    linked_session(other_organization)

    context = staff_client.get(reverse("home")).context

    assert context["today_total"] == 1
    assert context["confirmations"][0][2]["confirmed"] == 0
    assert context["funnel"]["reminders"] == 0
    assert context["session"] is None
