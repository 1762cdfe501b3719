"""When a reminder may go out: quiet hours, closed days and short-notice bookings."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from apps.notifications.models import NotificationSettings, ReminderRule

SHORT_NOTICE = "short_notice"
NO_ALLOWED_TIME = "no_allowed_time_before_start"
SUPERSEDED = "superseded_by_later_rule"


def in_quiet_hours(moment: dt.time, start: dt.time | None, end: dt.time | None) -> bool:
    if start is None or end is None:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # the window wraps past midnight


def next_allowed_time(moment: dt.datetime, *, settings: NotificationSettings, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant at or after `moment` outside quiet hours and closed days (clinic's local time)."""
    local = moment.astimezone(zone)
    closed = set(settings.closed_days or [])
    if len(closed) >= 7:
        return moment
    for _ in range(32):
        if local.weekday() in closed:
            local = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone)
            continue
        if in_quiet_hours(local.time(), settings.quiet_start, settings.quiet_end):
            day = local.date()
            if settings.quiet_start > settings.quiet_end and local.time() >= settings.quiet_start:
                day += dt.timedelta(days=1)
            local = dt.datetime.combine(day, settings.quiet_end, tzinfo=zone)
            continue
        return local.astimezone(dt.UTC)
    return local.astimezone(dt.UTC)


def reminder_due_at(*, rule: ReminderRule, rules: list[ReminderRule], start: dt.datetime, now: dt.datetime,
                    settings: NotificationSettings, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, str]:
    """(when to send, "") or (the nominal time, why it will not be sent)."""
    nominal = start - dt.timedelta(hours=rule.lead_hours)
    candidate = nominal
    if nominal < now:
        # Booked after this rule's moment had passed: catch up now, unless the booking is short
        # notice or a rule with a shorter lead will still remind the patient in time.
        if start - now < dt.timedelta(hours=rule.skip_within_hours):
            return nominal, SHORT_NOTICE
        if any(other.lead_hours < rule.lead_hours and start - dt.timedelta(hours=other.lead_hours) >= now
               for other in rules):
            return nominal, SUPERSEDED
        candidate = now
    allowed = next_allowed_time(candidate, settings=settings, zone=zone)
    if allowed >= start:
        return nominal, NO_ALLOWED_TIME
    return allowed, ""
