"""Quiet hours, closed days and short notice, in the clinic's local time (no database)."""

import datetime as dt
import zoneinfo

from apps.notifications.models import NotificationSettings, ReminderRule
from apps.notifications.schedule import (
    NO_ALLOWED_TIME,
    SHORT_NOTICE,
    SUPERSEDED,
    next_allowed_time,
    reminder_due_at,
)

ZONE = zoneinfo.ZoneInfo("America/Bogota")


def at(day, hour, minute=0):
    # March 2031: the 3rd is a Monday, the 9th a Sunday.
    return dt.datetime(2031, 3, day, hour, minute, tzinfo=ZONE)


def clinic(quiet=("20:00", "08:00"), closed=(6,)):
    return NotificationSettings(quiet_start=dt.time.fromisoformat(quiet[0]) if quiet else None,
                                quiet_end=dt.time.fromisoformat(quiet[1]) if quiet else None,
                                closed_days=list(closed))


def rule(lead, skip=0):
    return ReminderRule(lead_hours=lead, skip_within_hours=skip)


def test_a_time_inside_office_hours_is_kept():
    assert next_allowed_time(at(4, 10), settings=clinic(), zone=ZONE) == at(4, 10)


def test_a_late_evening_time_moves_to_the_next_morning():
    assert next_allowed_time(at(4, 22, 30), settings=clinic(), zone=ZONE) == at(5, 8)


def test_an_early_morning_time_moves_to_the_end_of_the_quiet_hours_that_day():
    assert next_allowed_time(at(4, 6), settings=clinic(), zone=ZONE) == at(4, 8)


def test_a_closed_sunday_moves_to_monday_morning():
    assert next_allowed_time(at(9, 12), settings=clinic(), zone=ZONE) == at(10, 8)


def test_quiet_hours_within_one_day_are_respected():
    lunch = clinic(quiet=("12:00", "14:00"), closed=())
    assert next_allowed_time(at(4, 12, 30), settings=lunch, zone=ZONE) == at(4, 14)
    assert next_allowed_time(at(4, 15), settings=lunch, zone=ZONE) == at(4, 15)


def test_a_reminder_due_in_quiet_hours_goes_out_at_the_next_allowed_time_before_the_appointment():
    due, reason = reminder_due_at(rule=rule(24), rules=[rule(24)], start=at(5, 7, 0) + dt.timedelta(hours=3),
                                  now=at(1, 9), settings=clinic(), zone=ZONE)
    # 24 h before Wednesday 10:00 is Tuesday 10:00: allowed.
    assert (due, reason) == (at(4, 10), "")
    due, reason = reminder_due_at(rule=rule(2), rules=[rule(2)], start=at(5, 9), now=at(1, 9), settings=clinic(),
                                  zone=ZONE)
    # 2 h before 09:00 is 07:00, in quiet hours: it goes at 08:00, still before the appointment.
    assert (due, reason) == (at(5, 8), "")


def test_a_reminder_with_no_allowed_time_before_the_appointment_is_not_sent():
    due, reason = reminder_due_at(rule=rule(2), rules=[rule(2)], start=at(5, 7, 30), now=at(1, 9),
                                  settings=clinic(), zone=ZONE)
    assert reason == NO_ALLOWED_TIME
    assert due == at(5, 5, 30)


def test_a_booking_after_the_lead_time_is_reminded_at_once_unless_it_is_short_notice():
    # Booked at 09:00 for 14:00 the same day: the 24 h moment has passed, 5 h remain.
    assert reminder_due_at(rule=rule(24, skip=2), rules=[rule(24, skip=2)], start=at(4, 14), now=at(4, 9),
                           settings=clinic(), zone=ZONE) == (at(4, 9), "")
    # Booked at 13:00 for 14:00: within "don't send within 2 h".
    due, reason = reminder_due_at(rule=rule(24, skip=2), rules=[rule(24, skip=2)], start=at(4, 14), now=at(4, 13),
                                  settings=clinic(), zone=ZONE)
    assert reason == SHORT_NOTICE


def test_a_passed_rule_is_not_caught_up_when_a_shorter_rule_will_still_remind():
    rules = [rule(24, skip=2), rule(2, skip=1)]
    due, reason = reminder_due_at(rule=rules[0], rules=rules, start=at(4, 18), now=at(4, 9), settings=clinic(),
                                  zone=ZONE)
    assert reason == SUPERSEDED
    assert reminder_due_at(rule=rules[1], rules=rules, start=at(4, 18), now=at(4, 9), settings=clinic(),
                           zone=ZONE) == (at(4, 16), "")
