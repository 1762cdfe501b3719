"""A provider's agenda as iCalendar (RFC 5545), written by hand: a few fields, no dependency."""

import datetime as dt

from django.utils import timezone

from apps.appointments.models import Appointment, Provider

PAST_DAYS, FUTURE_DAYS = 30, 180


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n")
            .replace("\n", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 §3.1)."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _summary(appointment: Appointment) -> str:
    # Staff phones sync this to third-party calendars: the patient's first name and initial only.
    patient = appointment.patient
    initial = f" {patient.last_name[:1]}." if patient.last_name else ""
    return f"{appointment.appointment_type.name}: {patient.first_name}{initial}"


def provider_feed(*, provider: Provider, base_url: str) -> str:
    now = timezone.now()
    appointments = (
        Appointment.objects.filter(provider=provider, start__gte=now - dt.timedelta(days=PAST_DAYS),
                                   start__lte=now + dt.timedelta(days=FUTURE_DAYS))
        .exclude(status__in=["cancelled", "no_show"])
        .select_related("patient", "appointment_type")
        .order_by("start")
    )
    host = base_url.split("//", 1)[-1].strip("/") or "opticaapp"
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//OpticaApp//Agenda//ES", "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_escape(provider.display_name)}", f"X-WR-TIMEZONE:{provider.organization.time_zone}",
    ]
    for appointment in appointments:
        lines += [
            "BEGIN:VEVENT",
            f"UID:appointment-{appointment.pk}@{host}",
            f"DTSTAMP:{_stamp(appointment.updated_at)}",
            f"DTSTART:{_stamp(appointment.start)}",
            f"DTEND:{_stamp(appointment.end)}",
            f"SUMMARY:{_escape(_summary(appointment))}",
            f"STATUS:{'CONFIRMED' if appointment.confirmation == 'confirmed' else 'TENTATIVE'}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
