"""Recalls: found from the clinic's rules, worked by staff, sent on WhatsApp, closed by a booking."""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.appointments.models import Appointment, AppointmentStatus
from apps.common.exceptions import ApplicationError
from apps.common.services import model_update
from apps.recalls.models import OPEN_STATUSES, Recall, RecallKind, RecallRule, RecallStatus

DEFAULT_MONTHS = {RecallKind.ANNUAL_EXAM: 12, RecallKind.CONTACT_LENS_RENEWAL: 6}
# Recalls appear on the list this many days before they are due, so staff can call ahead.
LOOKAHEAD_DAYS = 30
BOOK_ACTION = "book"

STATUS_MOVES = {
    RecallStatus.DUE: {RecallStatus.CONTACTED, RecallStatus.BOOKED, RecallStatus.DECLINED},
    RecallStatus.CONTACTED: {RecallStatus.BOOKED, RecallStatus.DECLINED},
    RecallStatus.BOOKED: set(),
    RecallStatus.DECLINED: set(),
}


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def recall_rules_get(*, organization) -> list[RecallRule]:
    """The clinic's rules, created with the defaults (exam after 12 months, lenses after 6) the first time."""
    for kind, months in DEFAULT_MONTHS.items():
        RecallRule.objects.get_or_create(organization=organization, kind=kind, defaults={"months": months})
    return list(RecallRule.objects.filter(organization=organization).order_by("kind"))


def recall_rule_update(*, rule: RecallRule, data: dict) -> RecallRule:
    months = data.get("months", rule.months)
    if months is None or not 1 <= months <= 60:
        raise ApplicationError(_("Between 1 and 60 months."), field="months")
    rule, _changed = model_update(instance=rule, fields=["months", "is_enabled"], data=data)
    return rule


def _last_exams(organization) -> dict[int, dt.date]:
    rows = (Appointment.objects.filter(organization=organization, status=AppointmentStatus.COMPLETED,
                                       patient__is_active=True)
            .order_by().values("patient").annotate(last=Max("start")))
    return {row["patient"]: row["last"].astimezone(organization.zone).date() for row in rows}


def _last_contact_lens_orders(organization) -> dict[int, dt.date]:
    from apps.orders.models import Order, OrderKind, OrderStatus

    rows = (Order.objects.filter(organization=organization, kind=OrderKind.CONTACT_LENS, patient__is_active=True)
            .exclude(status=OrderStatus.CANCELLED).order_by().values("patient").annotate(last=Max("created_at")))
    return {row["patient"]: row["last"].astimezone(organization.zone).date() for row in rows}


ANCHORS = {RecallKind.ANNUAL_EXAM: _last_exams, RecallKind.CONTACT_LENS_RENEWAL: _last_contact_lens_orders}


def recalls_generate(*, organization, today: dt.date | None = None) -> int:
    """Create the recalls now due (or due within the look-ahead); returns how many were created.

    Patients with an appointment ahead are left alone: they are already coming. Running it again
    creates nothing new, and the database refuses a second recall for the same period.
    """
    today = today or timezone.now().astimezone(organization.zone).date()
    booked_ahead = set(Appointment.objects.filter(organization=organization, status=AppointmentStatus.SCHEDULED,
                                                  start__gte=timezone.now()).values_list("patient", flat=True))
    created = 0
    for rule in recall_rules_get(organization=organization):
        if not rule.is_enabled:
            continue
        for patient_id, anchor in ANCHORS[rule.kind](organization).items():
            due_on = add_months(anchor, rule.months)
            if due_on > today + dt.timedelta(days=LOOKAHEAD_DAYS) or patient_id in booked_ahead:
                continue
            if Recall.objects.filter(rule=rule, patient_id=patient_id, anchor_date__lt=due_on,
                                     due_on__gt=anchor).exists():
                continue
            try:
                with transaction.atomic():
                    Recall.objects.create(organization=organization, patient_id=patient_id, rule=rule,
                                          anchor_date=anchor, due_on=due_on)
            except IntegrityError:
                continue  # a concurrent run created it: the exclusion constraint kept one
            created += 1
    return created


def _lock(recall: Recall) -> None:
    recall.refresh_from_db(from_queryset=Recall.objects.select_for_update(of=("self",)))


@transaction.atomic
def recall_status_set(*, recall: Recall, status: str, actor=None, appointment=None) -> Recall:
    if status not in RecallStatus.values:
        raise ApplicationError(_("Unknown status."), field="status")
    _lock(recall)
    if status == recall.status:
        return recall
    if status not in STATUS_MOVES[recall.status]:
        raise ApplicationError(_("A recall cannot go from %(from)s to %(to)s.")
                               % {"from": recall.get_status_display(), "to": RecallStatus(status).label},
                               field="status")
    now = timezone.now()
    recall.status = status
    recall.handled_by = actor or recall.handled_by
    if status == RecallStatus.CONTACTED:
        recall.contacted_at = recall.contacted_at or now
    else:
        recall.closed_at = now
    if appointment is not None:
        recall.appointment = appointment
    recall.save()
    return recall


@transaction.atomic
def recall_send_whatsapp(*, recall: Recall, actor=None) -> Recall:
    """The recall message with a "book" button; pressing it lands in the inbox as the patient's message."""
    from apps.notifications.models import MessageKind, MessageStatus, TemplateKind
    from apps.notifications.outbox import patient_notice_queue
    from apps.notifications.rendering import context_for, language_for, template_bodies
    from apps.notifications.templating import render_template

    _lock(recall)
    if not recall.is_open:
        raise ApplicationError(_("This recall is closed."), field="status")
    if recall.message_id and recall.message.status != MessageStatus.FAILED:
        raise ApplicationError(_("The recall message was already sent."), field="message")
    patient, organization = recall.patient, recall.organization
    language = language_for(patient)
    bodies = template_bodies(organization=organization, kinds=[TemplateKind.RECALL, TemplateKind.BUTTON_BOOK],
                             language=language)
    context = context_for(organization=organization, patient=patient, language=language)
    message = patient_notice_queue(
        organization=organization, patient=patient, kind=MessageKind.RECALL,
        body=render_template(bodies[TemplateKind.RECALL], context),
        buttons=[{"id": f"{BOOK_ACTION}:{recall.pk}",
                  "title": render_template(bodies[TemplateKind.BUTTON_BOOK], context)[:20]}],
    )
    recall.message = message
    recall.save(update_fields=["message", "updated_at"])
    return recall_status_set(recall=recall, status=RecallStatus.CONTACTED, actor=actor)


def recalls_close_for_booking(*, appointment: Appointment) -> int:
    """A booking for the patient answers their open recalls."""
    closed = 0
    for recall in Recall.objects.filter(organization_id=appointment.organization_id,
                                        patient_id=appointment.patient_id, status__in=OPEN_STATUSES):
        recall_status_set(recall=recall, status=RecallStatus.BOOKED, appointment=appointment)
        closed += 1
    return closed


def recall_booking_requested(*, organization, button_id: str, at: dt.datetime) -> Recall | None:
    """The patient pressed "book" on a recall message: staff see it on the recall list."""
    action, _sep, ref = (button_id or "").partition(":")
    if action != BOOK_ACTION or not ref.isdigit():
        return None
    updated = Recall.objects.filter(organization=organization, pk=int(ref), booking_requested_at__isnull=True)
    updated.update(booking_requested_at=at, updated_at=timezone.now())
    return Recall.objects.filter(organization=organization, pk=int(ref)).first()
