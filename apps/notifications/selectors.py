from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet

from apps.notifications.defaults import DEFAULT_TEMPLATES
from apps.notifications.models import Message, MessageTemplate, StaffAlert, TemplateKind
from apps.organizations.scoping import scoped


def message_list(*, organization, filters: dict | None = None) -> QuerySet[Message]:
    """The clinic's messages, newest first; filters: status, kind, direction, patient, date_from, date_to."""
    filters = filters or {}
    qs = scoped(Message, organization).select_related("patient", "appointment", "reply_to", "attachment")
    for field in ("status", "kind", "direction"):
        if filters.get(field):
            qs = qs.filter(**{field: filters[field]})
    if filters.get("patient"):
        qs = qs.filter(patient_id=filters["patient"])
    zone = organization.zone
    if filters.get("date_from"):
        qs = qs.filter(created_at__gte=dt.datetime.combine(filters["date_from"], dt.time.min, tzinfo=zone))
    if filters.get("date_to"):
        qs = qs.filter(created_at__lt=dt.datetime.combine(filters["date_to"] + dt.timedelta(days=1), dt.time.min,
                                                          tzinfo=zone))
    return qs.order_by("-created_at", "-id")


def messages_for_patient(*, organization, patient) -> QuerySet[Message]:
    return message_list(organization=organization, filters={"patient": patient.pk})


def staff_alerts_open(*, organization) -> QuerySet[StaffAlert]:
    return (scoped(StaffAlert, organization).filter(handled_at__isnull=True)
            .select_related("patient", "appointment").order_by("-created_at"))


def template_rows(*, organization) -> list[dict]:
    """Every kind × language with the text in force and whether the clinic wrote its own."""
    own = {(t.kind, t.language): t for t in scoped(MessageTemplate, organization)}
    rows = []
    for kind in TemplateKind:
        for language, language_name in settings.LANGUAGES:
            template = own.get((kind.value, language))
            default = DEFAULT_TEMPLATES.get(language, DEFAULT_TEMPLATES["es"])[kind]
            rows.append({"kind": kind.value, "kind_label": kind.label, "language": language,
                         "language_name": language_name, "body": template.body if template else default,
                         "is_custom": template is not None,
                         "meta_template_name": template.meta_template_name if template else "",
                         "meta_language": template.meta_language if template else "",
                         "meta_parameters": template.meta_parameters if template else "",
                         "meta_quick_replies": template.meta_quick_replies if template else False})
    return rows
