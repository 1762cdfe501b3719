"""Clinic-side configuration and staff alerts (sending lives in outbox.py, reminders in reminders.py)."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.common.services import model_update
from apps.notifications import defaults
from apps.notifications.models import (
    AlertKind,
    MessageTemplate,
    NotificationSettings,
    ReminderRule,
    StaffAlert,
)

SETTINGS_FIELDS = ["whatsapp_enabled", "quiet_start", "quiet_end", "closed_days", "confirm_keywords",
                   "cancel_keywords", "callback_keywords", "no_response_hours"]
KEYWORD_FIELDS = ("confirm_keywords", "cancel_keywords", "callback_keywords")


def notification_settings_get(*, organization) -> NotificationSettings:
    """The clinic's settings, created with the defaults (and a 24 h rule) the first time."""
    found = NotificationSettings.objects.filter(organization=organization).first()
    if found:
        return found
    with transaction.atomic():
        obj, created = NotificationSettings.objects.get_or_create(
            organization=organization,
            defaults={
                "quiet_start": datetime.time.fromisoformat(defaults.DEFAULT_QUIET_START),
                "quiet_end": datetime.time.fromisoformat(defaults.DEFAULT_QUIET_END),
                "closed_days": list(defaults.DEFAULT_CLOSED_DAYS),
            },
        )
        if created and not ReminderRule.objects.filter(organization=organization).exists():
            for rule in defaults.DEFAULT_RULES:
                ReminderRule.objects.create(organization=organization, **rule)
    return obj


def _replan_on_commit(organization) -> None:
    """Rules and hours apply to bookings already made too: their plans are redone by a job."""

    def defer():
        from procrastinate.exceptions import AlreadyEnqueued

        from apps.notifications.tasks import replan_organization

        try:
            with transaction.atomic():  # a refused duplicate must not spoil an enclosing transaction
                replan_organization.configure(queueing_lock=f"replan-{organization.pk}").defer(
                    organization_id=organization.pk)
        except AlreadyEnqueued:
            pass  # one waiting re-plan already covers this change

    transaction.on_commit(defer)


def notification_settings_update(*, organization, data: dict) -> NotificationSettings:
    obj = notification_settings_get(organization=organization)
    if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
        field = "quiet_end" if data.get("quiet_end") is None else "quiet_start"
        raise ApplicationError(_("Give both ends of the quiet hours, or neither."), field=field)
    if data.get("quiet_start") is not None and data.get("quiet_start") == data.get("quiet_end"):
        raise ApplicationError(_("Quiet hours must start and end at different times."), field="quiet_end")
    for field in KEYWORD_FIELDS:
        if field in data and not keywords_parse(data[field]):
            raise ApplicationError(_("Give at least one word."), field=field)
    if "confirm_keywords" in data and "cancel_keywords" in data:
        clash = keywords_parse(data["confirm_keywords"]) & keywords_parse(data["cancel_keywords"])
        if clash:
            words = ", ".join(sorted(clash))
            raise ApplicationError(_("These words both confirm and cancel: %(words)s.") % {"words": words},
                                   field="cancel_keywords")
    if "callback_keywords" in data:
        answers = {field: data.get(field, getattr(obj, field)) for field in ("confirm_keywords", "cancel_keywords")}
        clash = keywords_parse(data["callback_keywords"]) & set().union(*map(keywords_parse, answers.values()))
        if clash:
            words = ", ".join(sorted(clash))
            raise ApplicationError(_("These words already confirm or cancel: %(words)s.") % {"words": words},
                                   field="callback_keywords")
    obj, changed = model_update(instance=obj, fields=SETTINGS_FIELDS, data=data)
    if changed and {"quiet_start", "quiet_end", "closed_days", "whatsapp_enabled"} & set(data):
        _replan_on_commit(organization)
    return obj


def keywords_parse(raw: str) -> set[str]:
    from apps.notifications.replies import normalize

    return {normalize(word) for word in (raw or "").split(",") if normalize(word)}


def reminder_rule_create(*, organization, lead_hours: int, skip_within_hours: int,
                         is_enabled: bool = True) -> ReminderRule:
    notification_settings_get(organization=organization)
    _rule_validate(organization=organization, lead_hours=lead_hours, skip_within_hours=skip_within_hours)
    rule = ReminderRule(organization=organization, lead_hours=lead_hours, skip_within_hours=skip_within_hours,
                        is_enabled=is_enabled)
    rule.full_clean()
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        raise ApplicationError(_("A rule with this lead time already exists."), field="lead_hours") from exc
    _replan_on_commit(organization)
    return rule


def reminder_rule_update(*, rule: ReminderRule, data: dict) -> ReminderRule:
    merged = {"lead_hours": rule.lead_hours, "skip_within_hours": rule.skip_within_hours, **data}
    _rule_validate(organization=rule.organization, lead_hours=merged["lead_hours"],
                   skip_within_hours=merged["skip_within_hours"], exclude=rule.pk)
    rule, changed = model_update(instance=rule, fields=["lead_hours", "skip_within_hours", "is_enabled"], data=data)
    if changed:
        _replan_on_commit(rule.organization)
    return rule


def reminder_rule_delete(*, rule: ReminderRule) -> None:
    organization = rule.organization
    rule.delete()
    _replan_on_commit(organization)


def _rule_validate(*, organization, lead_hours, skip_within_hours, exclude=None) -> None:
    if not lead_hours or not 1 <= lead_hours <= 720:
        raise ApplicationError(_("The lead time must be between 1 and 720 hours."), field="lead_hours")
    if skip_within_hours is None or skip_within_hours < 0 or skip_within_hours >= lead_hours:
        raise ApplicationError(_("\"Don't send within\" must be shorter than the lead time."),
                               field="skip_within_hours")
    taken = ReminderRule.objects.filter(organization=organization, lead_hours=lead_hours).exclude(pk=exclude)
    if taken.exists():
        raise ApplicationError(_("A rule with this lead time already exists."), field="lead_hours")


def message_template_save(*, organization, kind: str, language: str, body: str) -> MessageTemplate:
    template = MessageTemplate.objects.filter(organization=organization, kind=kind, language=language).first()
    template = template or MessageTemplate(organization=organization, kind=kind, language=language)
    template.body = body
    template.full_clean()
    template.save()
    return template


def message_template_reset(*, organization, kind: str, language: str) -> None:
    MessageTemplate.objects.filter(organization=organization, kind=kind, language=language).delete()


def staff_alert_raise(*, organization, kind: AlertKind, text: str, patient=None, appointment=None,
                      message=None) -> StaffAlert:
    return StaffAlert.objects.create(organization=organization, kind=kind, text=text[:500], patient=patient,
                                     appointment=appointment, message=message)


def staff_alert_handle(*, alert: StaffAlert, user) -> StaffAlert:
    if alert.handled_at is None:
        alert.handled_at = timezone.now()
        alert.handled_by = user
        alert.save(update_fields=["handled_at", "handled_by", "updated_at"])
    return alert
