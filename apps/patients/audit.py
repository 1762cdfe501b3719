"""Writing the audit trail. Every service that creates or changes a patient, visit or prescription calls
`audit_record` in the same transaction, so the trail and the change commit together."""

import datetime
from decimal import Decimal

from django.db import models

from apps.patients.models import AuditEvent, AuditSource


def _plain(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def snapshot(instance: models.Model, fields) -> dict:
    return {field: _plain(getattr(instance, field)) for field in fields
            if getattr(instance, field) not in (None, "")}


def diff(before: dict, after: dict) -> dict:
    """{"field": [old, new]} for every field whose value changed."""
    return {field: [before.get(field), value] for field, value in after.items() if before.get(field) != value}


def values_of(instance: models.Model, fields) -> dict:
    return {field: _plain(getattr(instance, field)) for field in fields}


def audit_record(*, instance: models.Model, action: str, actor=None, source: str = AuditSource.STAFF,
                 changes: dict | None = None, patient=None) -> AuditEvent:
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        organization_id=instance.organization_id,
        actor=actor,
        source=source,
        action=action,
        object_type=instance._meta.label_lower,
        object_id=instance.pk,
        patient=patient,
        changes=changes or {},
    )
