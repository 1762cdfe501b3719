"""Setting up the schedule: providers, their hours and time off, and the appointment types."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.appointments.models import AppointmentType, Provider, TimeOff, WorkingHours, _new_feed_token
from apps.common.exceptions import ApplicationError
from apps.common.services import model_update
from apps.organizations.models import Membership


def _check_member(organization, user) -> None:
    if user is not None and not Membership.objects.filter(organization=organization, user=user,
                                                          is_active=True).exists():
        raise ApplicationError(_("Choose a member of this clinic."), field="user")


@transaction.atomic
def provider_create(*, organization, display_name: str, user=None, color: str = "#0d6efd",
                    is_active: bool = True) -> Provider:
    _check_member(organization, user)
    if user is not None and Provider.objects.filter(organization=organization, user=user).exists():
        raise ApplicationError(_("This member already has a provider agenda."), field="user")
    provider = Provider(organization=organization, display_name=display_name, user=user, color=color,
                        is_active=is_active)
    provider.full_clean()
    provider.save()
    return provider


@transaction.atomic
def provider_update(*, provider: Provider, data: dict) -> Provider:
    if "user" in data:
        _check_member(provider.organization, data["user"])
    try:
        with transaction.atomic():
            provider, _changed = model_update(instance=provider, fields=["display_name", "user", "color", "is_active"],
                                              data=data)
    except IntegrityError:
        raise ApplicationError(_("This member already has a provider agenda."), field="user") from None
    return provider


def provider_feed_token_rotate(*, provider: Provider) -> Provider:
    """A new secret for the calendar feed; phones subscribed to the old URL stop receiving it."""
    provider.feed_token = _new_feed_token()
    provider.save(update_fields=["feed_token", "updated_at"])
    return provider


@transaction.atomic
def working_hours_set(*, provider: Provider, blocks: list[tuple[int, dt.time, dt.time]]) -> list[WorkingHours]:
    """Replace the provider's week with `blocks` of (weekday 0=Monday, start, end) in local time."""
    rows = []
    for weekday, start, end in blocks:
        if not 0 <= weekday <= 6:
            raise ApplicationError(_("The weekday must be between Monday and Sunday."), field="weekday")
        if start >= end:
            raise ApplicationError(_("The end must be after the start."), field="end_time")
        rows.append(WorkingHours(organization=provider.organization, provider=provider, weekday=weekday,
                                 start_time=start, end_time=end))
    rows.sort(key=lambda row: (row.weekday, row.start_time))
    for before, after in zip(rows, rows[1:], strict=False):
        if before.weekday == after.weekday and after.start_time < before.end_time:
            raise ApplicationError(_("Working hours of one day must not overlap."), field="start_time")
    WorkingHours.objects.filter(provider=provider).delete()
    return WorkingHours.objects.bulk_create(rows)


def time_off_create(*, provider: Provider, start: dt.datetime, end: dt.datetime, reason: str = "") -> TimeOff:
    """Existing appointments in the period stay; staff move them, the calendar shows the clash."""
    if end <= start:
        raise ApplicationError(_("The end must be after the start."), field="end")
    return TimeOff.objects.create(organization=provider.organization, provider=provider, start=start, end=end,
                                  reason=reason)


def time_off_delete(*, time_off: TimeOff) -> None:
    time_off.delete()


def appointment_type_create(*, organization, name: str, duration_minutes: int = 30, color: str = "#6c757d",
                            is_active: bool = True) -> AppointmentType:
    if AppointmentType.objects.filter(organization=organization, name__iexact=name).exists():
        raise ApplicationError(_("There is already a type with this name."), field="name")
    appointment_type = AppointmentType(organization=organization, name=name, duration_minutes=duration_minutes,
                                       color=color, is_active=is_active)
    appointment_type.full_clean()
    appointment_type.save()
    return appointment_type


def appointment_type_update(*, appointment_type: AppointmentType, data: dict) -> AppointmentType:
    name = data.get("name")
    if name and AppointmentType.objects.filter(organization=appointment_type.organization, name__iexact=name).exclude(
        pk=appointment_type.pk
    ).exists():
        raise ApplicationError(_("There is already a type with this name."), field="name")
    appointment_type, _changed = model_update(
        instance=appointment_type, fields=["name", "duration_minutes", "color", "is_active"], data=data
    )
    return appointment_type


def scheduling_settings_update(*, organization, late_cancel_hours: int, slot_minutes: int,
                               early_arrival_minutes: int | None = None):
    from apps.appointments.models import SchedulingSettings

    settings, _created = SchedulingSettings.objects.get_or_create(organization=organization)
    settings.late_cancel_hours, settings.slot_minutes = late_cancel_hours, slot_minutes
    if early_arrival_minutes is not None:
        settings.early_arrival_minutes = early_arrival_minutes
    settings.full_clean()
    settings.save()
    return settings
