"""Reads for the staff inbox: conversations built from notifications.Message rows."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentStatus
from apps.inbox.models import EPOCH, CannedReply, Conversation, ConversationState
from apps.notifications.models import Direction, Message, MessageKind
from apps.organizations.models import Membership
from apps.organizations.scoping import scoped

# Patient messages the system answered by itself ("1", STOP): history, not news for staff.
HANDLED_KINDS = (MessageKind.REPLY, MessageKind.OPT_OUT, MessageKind.OPT_IN)
FILTERS = ("open", "mine", "unassigned", "pending", "resolved", "all")
# A conversation with patient messages nobody has read (index inbox_conv_unread has this condition).
UNREAD = Q(last_inbound_at__gt=Coalesce(F("last_read_at"), Value(EPOCH)))


def _messages_of_outer_conversation() -> QuerySet[Message]:
    # A patient conversation has phone "", which no message has; an unknown number's has no patient.
    return Message.objects.filter(
        Q(patient_id=OuterRef("patient_id")) | Q(patient__isnull=True, phone=OuterRef("phone")),
        organization_id=OuterRef("organization_id"),
    )


def conversation_messages(*, conversation: Conversation) -> QuerySet[Message]:
    messages = Message.objects.filter(organization_id=conversation.organization_id)
    if conversation.patient_id:
        messages = messages.filter(patient_id=conversation.patient_id)
    else:
        messages = messages.filter(patient__isnull=True, phone=conversation.phone)
    return messages.select_related("sent_by", "attachment").order_by("created_at", "id")


def conversation_annotated(queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Adds unread and effective_state; the latest message's copy lives on the row itself."""
    inbound = _messages_of_outer_conversation().filter(direction=Direction.INBOUND).exclude(kind__in=HANDLED_KINDS)
    unread = (inbound.filter(created_at__gt=Coalesce(OuterRef("last_read_at"), Value(EPOCH)))
              .order_by().values("organization_id").annotate(n=Count("id")).values("n"))
    return queryset.annotate(
        # Messages are counted only where the row says some are unread (its latest patient message is
        # newer than its read mark): a read conversation costs no subquery.
        unread=Case(When(UNREAD, then=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))),
                    default=Value(0), output_field=IntegerField()),
        effective_state=Case(
            When(~Q(state=ConversationState.OPEN) & Q(last_inbound_at__gt=F("state_changed_at")),
                 then=Value(ConversationState.OPEN)),
            default=F("state"),
            output_field=CharField(),
        ),
    )


def conversation_list(*, organization, user=None, filter: str = "open", query: str = "") -> QuerySet[Conversation]:
    conversations = conversation_annotated(
        scoped(Conversation, organization).select_related("patient", "assigned_to")
    )
    not_resolved = ~Q(effective_state=ConversationState.RESOLVED)
    if filter == "open":
        conversations = conversations.filter(effective_state=ConversationState.OPEN)
    elif filter == "mine":
        conversations = conversations.filter(not_resolved, assigned_to=user)
    elif filter == "unassigned":
        conversations = conversations.filter(not_resolved, assigned_to__isnull=True)
    elif filter in (ConversationState.PENDING, ConversationState.RESOLVED):
        conversations = conversations.filter(effective_state=filter)
    query = (query or "").strip()
    if query:
        body_match = _messages_of_outer_conversation().filter(body__icontains=query)
        digits = "".join(ch for ch in query if ch.isdigit())
        match = (Q(patient__first_name__unaccent__icontains=query) | Q(patient__last_name__unaccent__icontains=query)
                 | Q(contact_name__icontains=query) | Exists(body_match))
        if digits:
            match |= Q(patient__phone__contains=digits) | Q(phone__contains=digits)
        conversations = conversations.filter(match)
    return conversations.order_by(F("last_message_at").desc(nulls_last=True), "-id")


def conversation_get(*, organization, pk) -> Conversation | None:
    return conversation_annotated(
        scoped(Conversation, organization).select_related("patient", "assigned_to")
    ).filter(pk=pk).first()


def unread_conversation_count(*, organization) -> int:
    """How many conversations hold patient messages nobody has read: one count over conversations."""
    if organization is None:
        return 0
    return Conversation.objects.filter(UNREAD, organization=organization).count()


def conversation_list_version(*, organization) -> str:
    """Changes whenever any of the clinic's conversations changes, is added or goes away.

    Every write of a conversation moves its `updated_at` (services.py), so the number of rows and
    the sum of those instants tell a poll whether the list it shows is still current. A sum, not a
    maximum: a write that commits late with an earlier instant still changes it."""
    row = Conversation.objects.filter(organization=organization).aggregate(
        n=Count("id"), at=Sum(Func(F("updated_at"), template="EXTRACT(EPOCH FROM %(expressions)s)",
                                   output_field=DecimalField())))
    return f"{row['n']}-{row['at'] or 0}"


def next_appointment_for(*, conversation: Conversation, now: dt.datetime | None = None) -> Appointment | None:
    if not conversation.patient_id:
        return None
    now = now or timezone.now()
    return (Appointment.objects.filter(organization_id=conversation.organization_id,
                                       patient_id=conversation.patient_id, status=AppointmentStatus.SCHEDULED,
                                       start__gte=now)
            .select_related("provider", "appointment_type").order_by("start").first())


def canned_reply_list(*, organization) -> QuerySet[CannedReply]:
    return scoped(CannedReply, organization).order_by("title")


def assignable_members(*, organization) -> QuerySet[Membership]:
    return (Membership.objects.filter(organization=organization, is_active=True, user__is_active=True)
            .select_related("user").order_by("user__full_name", "user__email"))
