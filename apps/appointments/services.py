"""Every change to an appointment goes through here: validated, recorded as an event, announced.

Announcements (`signals.appointment_changed`) go out only after the transaction commits, so a
listener that plans a WhatsApp reminder never sees a booking that was rolled back.
"""

import datetime as dt
from functools import partial

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from apps.appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    AppointmentType,
    CancelledBy,
    ConfirmationStatus,
    EventKind,
    EventSource,
    Provider,
)
from apps.appointments.rules import fits_working_hours, overlaps_time_off
from apps.appointments.selectors import scheduling_settings_get
from apps.appointments.signals import appointment_changed, appointments_changed
from apps.appointments.transitions import (
    CONFIRMABLE_STATUSES,
    confirmation_can_move,
    earliest_move,
    status_can_move,
)
from apps.common.exceptions import ApplicationError

OVERLAP_CONSTRAINT = "appointments_no_provider_overlap"
DEADLOCK_DETECTED = "40P01"
# A booking for "now" typed to the minute is a few moments in the past by the time it is saved.
PAST_GRACE = dt.timedelta(minutes=10)


def _aware(value: dt.datetime, organization) -> dt.datetime:
    # Naive datetimes are read as the clinic's wall-clock time, never the server's.
    return value if timezone.is_aware(value) else value.replace(tzinfo=organization.zone)


def _as_text(value) -> str:
    # Times go into the history in UTC, so that every row reads the same way.
    return value.astimezone(dt.UTC).isoformat() if isinstance(value, dt.datetime) else str(value)


def _record(appointment: Appointment, *, kind: str, from_value="", to_value="", actor=None, source) -> None:
    AppointmentEvent.objects.create(
        organization_id=appointment.organization_id, appointment=appointment, actor=actor, kind=kind,
        from_value=_as_text(from_value), to_value=_as_text(to_value), source=source,
    )


def _announce(appointment: Appointment, change: str) -> None:
    transaction.on_commit(
        partial(appointment_changed.send, sender=Appointment, appointment_id=appointment.pk, change=change),
        robust=True,
    )


def _is_overlap(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == OVERLAP_CONSTRAINT


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == DEADLOCK_DETECTED


def _save_guarded(appointment: Appointment, **save_kwargs) -> None:
    """Save, turning the database's double-booking refusal into an error about `start`.

    Two bookings racing for one slot can each wait on the other's exclusion check, and PostgreSQL
    then aborts one of them as a deadlock. Saving that one again waits for the other to finish, after
    which the slot is either clearly taken (the usual error) or free again.
    """
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                appointment.save(**save_kwargs)
            return
        except OperationalError as exc:
            if attempt == 2 or not _is_deadlock(exc):
                raise
        except IntegrityError as exc:
            if _is_overlap(exc):
                raise ApplicationError(
                    _("%(provider)s already has an appointment at that time.") % {"provider": appointment.provider},
                    field="start", code="overlap",
                ) from exc
            raise


def _check_slot(*, organization, provider: Provider, start: dt.datetime, end: dt.datetime, override: bool) -> None:
    if end <= start:
        raise ApplicationError(_("The end must be after the start."), field="end")
    if override:
        return
    if start < timezone.now() - PAST_GRACE:
        raise ApplicationError(_("This time is in the past. Only an administrator can record it."), field="start",
                               code="past")
    if not fits_working_hours(provider=provider, start=start, end=end, zone=organization.zone):
        raise ApplicationError(
            _("This time is outside %(provider)s's working hours.") % {"provider": provider}, field="start",
            code="outside_hours",
        )
    if overlaps_time_off(provider=provider, start=start, end=end):
        raise ApplicationError(_("%(provider)s is off at this time.") % {"provider": provider}, field="start",
                               code="time_off")


def _check_belongs(organization, **objects) -> None:
    messages = {
        "patient": _("Choose a patient of this clinic."),
        "provider": _("Choose a provider of this clinic."),
        "appointment_type": _("Choose an appointment type of this clinic."),
    }
    for field, obj in objects.items():
        if obj is None or obj.organization_id != organization.pk:
            raise ApplicationError(messages[field], field=field)


def _lock(appointment: Appointment) -> None:
    """Re-read the row under a lock, so that two concurrent moves apply one after the other."""
    appointment.refresh_from_db(from_queryset=Appointment.objects.select_for_update())


@transaction.atomic
def appointment_book(*, organization, patient, provider: Provider, appointment_type: AppointmentType,
                     start: dt.datetime, end: dt.datetime | None = None, notes: str = "", booked_by=None,
                     source: str = EventSource.UI, override: bool = False) -> Appointment:
    """Book a visit. `override` (an administrator's decision) allows the past, off hours and time off."""
    _check_belongs(organization, patient=patient, provider=provider, appointment_type=appointment_type)
    if not provider.is_active:
        raise ApplicationError(_("This provider no longer takes appointments."), field="provider")
    if not appointment_type.is_active:
        raise ApplicationError(_("This appointment type is no longer offered."), field="appointment_type")
    start = _aware(start, organization)
    end = _aware(end, organization) if end else start + dt.timedelta(minutes=appointment_type.duration_minutes)
    _check_slot(organization=organization, provider=provider, start=start, end=end, override=override)

    appointment = Appointment(
        organization=organization, patient=patient, provider=provider, appointment_type=appointment_type,
        start=start, end=end, notes=notes, booked_by=booked_by,
    )
    appointment.full_clean(exclude=["organization", "patient", "provider", "appointment_type", "booked_by"],
                           validate_constraints=False)
    _save_guarded(appointment)
    _record(appointment, kind=EventKind.BOOKED, to_value=start, actor=booked_by, source=source)
    _announce(appointment, "booked")
    return appointment


@transaction.atomic
def appointment_move(*, appointment: Appointment, start: dt.datetime, end: dt.datetime | None = None,
                     provider: Provider | None = None, actor=None, source: str, override: bool = False) -> Appointment:
    """Reschedule (optionally to another provider); keeps the duration unless `end` is given.

    The patient has not confirmed the new time, so the confirmation starts over.
    """
    _lock(appointment)
    organization = appointment.organization
    if appointment.status != AppointmentStatus.SCHEDULED:
        raise ApplicationError(
            _("Only a scheduled appointment can be moved; this one is %(status)s.")
            % {"status": appointment.get_status_display()}, field="status",
        )
    provider = provider or appointment.provider
    _check_belongs(organization, provider=provider)
    if not provider.is_active:
        raise ApplicationError(_("This provider no longer takes appointments."), field="provider")
    start = _aware(start, organization)
    end = _aware(end, organization) if end else start + (appointment.end - appointment.start)
    _check_slot(organization=organization, provider=provider, start=start, end=end, override=override)
    if (start, end, provider.pk) == (appointment.start, appointment.end, appointment.provider_id):
        return appointment

    old_start, old_confirmation = appointment.start, appointment.confirmation
    appointment.start, appointment.end, appointment.provider = start, end, provider
    appointment.confirmation = ConfirmationStatus.UNCONFIRMED
    _save_guarded(appointment, update_fields=["start", "end", "provider", "confirmation", "updated_at"])
    _record(appointment, kind=EventKind.MOVED, from_value=old_start, to_value=start,
            actor=actor, source=source)
    if old_confirmation != ConfirmationStatus.UNCONFIRMED:
        _record(appointment, kind=EventKind.CONFIRMATION, from_value=old_confirmation,
                to_value=ConfirmationStatus.UNCONFIRMED, actor=actor, source=source)
    _announce(appointment, "moved")
    return appointment


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, actor=None, by_patient: bool = False, reason: str = "",
                       source: str) -> Appointment:
    """Cancel; "late" when closer to the start than the clinic's threshold.

    A patient's cancellation is also their answer to the confirmation, recorded as declined.
    """
    _lock(appointment)
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment
    if not status_can_move(appointment.status, AppointmentStatus.CANCELLED):
        raise ApplicationError(
            _("A %(status)s appointment cannot be cancelled.") % {"status": appointment.get_status_display()},
            field="status",
        )
    now = timezone.now()
    late_hours = scheduling_settings_get(organization=appointment.organization).late_cancel_hours
    old_status, old_confirmation = appointment.status, appointment.confirmation
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_by = CancelledBy.PATIENT if by_patient else CancelledBy.STAFF
    appointment.cancel_reason = reason[:255]
    appointment.cancelled_at = now
    appointment.cancelled_late = appointment.start - now < dt.timedelta(hours=late_hours)
    fields = ["status", "cancelled_by", "cancel_reason", "cancelled_at", "cancelled_late", "updated_at"]
    if by_patient and confirmation_can_move(old_confirmation, ConfirmationStatus.DECLINED):
        appointment.confirmation = ConfirmationStatus.DECLINED
        fields.append("confirmation")
    appointment.save(update_fields=fields)
    _record(appointment, kind=EventKind.CANCELLED, from_value=old_status, to_value=appointment.status,
            actor=actor, source=source)
    if appointment.confirmation != old_confirmation:
        _record(appointment, kind=EventKind.CONFIRMATION, from_value=old_confirmation,
                to_value=appointment.confirmation, actor=actor, source=source)
    _announce(appointment, "cancelled")
    return appointment


@transaction.atomic
def appointment_status_change(*, appointment: Appointment, to_status: str, actor=None, source: str,
                              now: dt.datetime | None = None) -> Appointment:
    """One move of the clinical status along the transition table (cancelling counts as staff's).

    A move that describes the visit (arrived, in progress, completed, no-show) is refused before the
    start, `now` being the real clock unless a test gives its own; arrivals open earlier, by the
    clinic's early-arrival window.
    """
    if to_status not in AppointmentStatus.values:
        raise ApplicationError(_("Unknown status."), field="status")
    if to_status == AppointmentStatus.CANCELLED:
        return appointment_cancel(appointment=appointment, actor=actor, source=source)
    _lock(appointment)
    from_status = appointment.status
    if to_status == from_status:
        return appointment
    if not status_can_move(from_status, to_status):
        raise ApplicationError(
            _("An appointment cannot go from %(from)s to %(to)s.")
            % {"from": appointment.get_status_display(), "to": AppointmentStatus(to_status).label},
            field="status",
        )
    settings = scheduling_settings_get(organization=appointment.organization)
    earliest = earliest_move(to_status, start=appointment.start,
                             early_arrival=dt.timedelta(minutes=settings.early_arrival_minutes))
    if earliest is not None and (now or timezone.now()) < earliest:
        when = formats.time_format(timezone.localtime(earliest, appointment.organization.zone), "H:i")
        if to_status == AppointmentStatus.ARRIVED:
            message = _("The patient can be recorded as arrived from %(time)s, %(minutes)s minutes before the "
                        "start.") % {"time": when, "minutes": settings.early_arrival_minutes}
        else:
            message = _("%(status)s cannot be recorded before the appointment starts (%(time)s).") % {
                "status": AppointmentStatus(to_status).label, "time": when}
        raise ApplicationError(message, field="status", code="too_early")
    appointment.status = to_status
    # Reinstating a no-show takes its slot back, which may have been booked meanwhile.
    _save_guarded(appointment, update_fields=["status", "updated_at"])
    _record(appointment, kind=EventKind.STATUS, from_value=from_status, to_value=to_status, actor=actor,
            source=source)
    _announce(appointment, "status")
    return appointment


@transaction.atomic
def appointment_confirmation_set(*, appointment: Appointment, confirmation: str, actor=None,
                                 source: str) -> Appointment:
    if confirmation not in ConfirmationStatus.values:
        raise ApplicationError(_("Unknown confirmation state."), field="confirmation")
    _lock(appointment)
    current = appointment.confirmation
    if confirmation == current:
        return appointment
    if appointment.status not in CONFIRMABLE_STATUSES:
        raise ApplicationError(
            _("A %(status)s appointment no longer takes a confirmation.")
            % {"status": appointment.get_status_display()}, field="confirmation",
        )
    if not confirmation_can_move(current, confirmation):
        raise ApplicationError(
            _("The confirmation cannot go from %(from)s to %(to)s.")
            % {"from": appointment.get_confirmation_display(), "to": ConfirmationStatus(confirmation).label},
            field="confirmation",
        )
    appointment.confirmation = confirmation
    appointment.save(update_fields=["confirmation", "updated_at"])
    _record(appointment, kind=EventKind.CONFIRMATION, from_value=current, to_value=confirmation, actor=actor,
            source=source)
    _announce(appointment, "confirmation")
    return appointment


_REQUEST_SQL = f"""
WITH old AS (
    SELECT id, organization_id, confirmation FROM {Appointment._meta.db_table}
    WHERE id = ANY(%s) AND confirmation = ANY(%s) AND status = ANY(%s) ORDER BY id FOR UPDATE
), moved AS (
    UPDATE {Appointment._meta.db_table} AS a SET confirmation = %s, updated_at = %s
    FROM old WHERE a.id = old.id
    RETURNING a.id, a.organization_id, old.confirmation
)
INSERT INTO {AppointmentEvent._meta.db_table}
    (organization_id, appointment_id, actor_id, created_at, kind, from_value, to_value, source)
SELECT organization_id, id, NULL, %s, %s, confirmation, %s, %s FROM moved
RETURNING appointment_id
"""  # noqa: S608 - the table names are the models' own


def appointment_confirmation_request(*, appointment_id: int, source: str) -> bool:
    """The patient was asked to confirm (their reminder went out): an unconfirmed (or no response)
    appointment still scheduled moves to requested, with its history row and its announcement, as
    appointment_confirmation_set does, in one statement. False (nothing changed) otherwise."""
    moved = _confirmations_request([appointment_id], source)
    if moved:
        _announce(Appointment(pk=appointment_id), "confirmation")
    return bool(moved)


def appointments_confirmation_request(*, appointment_ids: list[int], source: str) -> list[int]:
    """appointment_confirmation_request for many appointments (a batch of reminders that went out), in
    one statement, announced once with `appointments_changed`; the ids that moved."""
    moved = _confirmations_request(appointment_ids, source) if appointment_ids else []
    if moved:
        transaction.on_commit(partial(appointments_changed.send, sender=Appointment, appointment_ids=moved,
                                      change="confirmation"), robust=True)
    return moved


def _confirmations_request(appointment_ids: list[int], source: str) -> list[int]:
    to = ConfirmationStatus.REQUESTED
    sources = [c for c in (ConfirmationStatus.UNCONFIRMED, ConfirmationStatus.NO_RESPONSE)
               if confirmation_can_move(c, to)]
    now = timezone.now()
    # One statement, atomic by itself: no transaction of its own (the announcement waits for the
    # caller's, if there is one). Rows are locked in id order, as concurrent batches lock them.
    with connection.cursor() as cursor:
        cursor.execute(_REQUEST_SQL, [list(appointment_ids), sources, sorted(CONFIRMABLE_STATUSES), to, now,
                                      now, EventKind.CONFIRMATION, to, source])
        return [row[0] for row in cursor.fetchall()]


@transaction.atomic
def appointment_update(*, appointment: Appointment, notes: str | None = None,
                       appointment_type: AppointmentType | None = None, actor=None, source: str) -> Appointment:
    """Details that do not touch the slot; moving goes through `appointment_move`."""
    _lock(appointment)
    changed = []
    if appointment_type is not None and appointment_type.pk != appointment.appointment_type_id:
        _check_belongs(appointment.organization, appointment_type=appointment_type)
        appointment.appointment_type = appointment_type
        changed.append("appointment_type")
    if notes is not None and notes != appointment.notes:
        appointment.notes = notes
        changed.append("notes")
    if changed:
        appointment.save(update_fields=[*changed, "updated_at"])
        _record(appointment, kind=EventKind.UPDATED, to_value=",".join(changed), actor=actor, source=source)
    return appointment
