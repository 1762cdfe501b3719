"""Clinic-side configuration and staff alerts (sending lives in outbox.py, reminders in reminders.py)."""

from __future__ import annotations

import datetime
import hashlib
import mimetypes
import re
from functools import partial
from pathlib import PurePath

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.common.jobs import task_configure
from apps.common.services import model_update
from apps.notifications import defaults
from apps.notifications.models import (
    AlertKind,
    AttachmentKind,
    Message,
    MessageAttachment,
    MessageKind,
    MessageTemplate,
    NotificationSettings,
    ReminderRule,
    StaffAlert,
)

SETTINGS_FIELDS = ["whatsapp_enabled", "quiet_start", "quiet_end", "closed_days", "confirm_keywords",
                   "cancel_keywords", "callback_keywords", "no_response_hours", "notify_booked", "notify_moved",
                   "notify_cancelled"]
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

        try:
            with transaction.atomic():  # a refused duplicate must not spoil an enclosing transaction
                task_configure("notifications.replan_organization", queueing_lock=f"replan-{organization.pk}").defer(
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
    from apps.notifications.interpretation import normalize

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


def message_template_save(*, organization, kind: str, language: str, body: str, meta_template_name: str = "",
                          meta_language: str = "", meta_parameters: str = "",
                          meta_quick_replies: bool = False) -> MessageTemplate:
    template = MessageTemplate.objects.filter(organization=organization, kind=kind, language=language).first()
    template = template or MessageTemplate(organization=organization, kind=kind, language=language)
    template.body = body
    template.meta_template_name = meta_template_name.strip()
    template.meta_language = meta_language.strip() if template.meta_template_name else ""
    template.meta_parameters = meta_parameters.strip() if template.meta_template_name else ""
    template.meta_quick_replies = bool(meta_quick_replies and template.meta_template_name)
    template.full_clean()
    template.save()
    return template


def message_template_reset(*, organization, kind: str, language: str) -> None:
    MessageTemplate.objects.filter(organization=organization, kind=kind, language=language).delete()


def staff_alert_raise(*, organization, kind: AlertKind, text: str, patient=None, appointment=None,
                      message=None) -> StaffAlert:
    return StaffAlert.objects.create(organization=organization, kind=kind, text=text[:500], patient=patient,
                                     appointment=appointment, message=message)


def staff_alerts_resolve(*, organization, kinds: list[str], appointment=None) -> int:
    """Close open alerts whose cause is gone (handled by nobody: they closed themselves)."""
    alerts = StaffAlert.objects.filter(organization=organization, kind__in=kinds, handled_at__isnull=True)
    if appointment is not None:
        alerts = alerts.filter(appointment=appointment)
    return alerts.update(handled_at=timezone.now(), updated_at=timezone.now())


def staff_alerts_resolve_for_appointments(*, kind: str, appointment_ids: list[int]) -> int:
    """staff_alerts_resolve of one kind for many appointments (each alert is its appointment's clinic's)."""
    return StaffAlert.objects.filter(appointment_id__in=appointment_ids, kind=kind, handled_at__isnull=True).update(
        handled_at=timezone.now(), updated_at=timezone.now())


def staff_alert_handle(*, alert: StaffAlert, user) -> StaffAlert:
    if alert.handled_at is None:
        alert.handled_at = timezone.now()
        alert.handled_by = user
        alert.save(update_fields=["handled_at", "handled_by", "updated_at"])
    return alert


def message_send_media(*, organization, patient, content: bytes, filename: str, content_type: str,
                       caption: str = "", kind: str | None = None, sent_by=None, appointment=None,
                       message_kind: str = MessageKind.FREE_TEXT) -> Message:
    """Send a file (with an optional caption) to a patient by WhatsApp.

    `kind` is the attachment's kind (image, document, audio, video); by default the file's own,
    as sniffed from `content`. The message is in the ledger, queued, before any send is
    attempted; a job sends it once the transaction commits. Raises ApplicationError naming
    `content`, `caption` or `patient` when it cannot go, and then nothing is stored.
    """
    from apps.notifications.media import attachment_check
    from apps.notifications.outbox import message_queue, staff_send_check

    caption = (caption or "").strip()
    staff_send_check(organization=organization, patient=patient, text=caption, field="caption")
    if appointment is not None and appointment.organization_id != organization.pk:
        raise ApplicationError(_("Unknown appointment."), field="appointment")
    kind, mime_type = attachment_check(content=content, content_type=content_type, kind=kind)
    with transaction.atomic():
        message = message_queue(organization=organization, phone=patient.phone, body=caption, kind=message_kind,
                                patient=patient, appointment=appointment, sent_by=sent_by)
        attachment = MessageAttachment(
            organization=organization, message=message, kind=kind, mime_type=mime_type,
            filename=attachment_filename(filename, mime_type), size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        attachment.file.save(attachment.filename, ContentFile(content), save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)
            raise
    return message


_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+")


def attachment_filename(name: str | None, mime_type: str) -> str:
    """A file name safe to show and to offer for download; the stored path is random anyway."""
    cleaned = _UNSAFE_NAME.sub("_", PurePath(name or "").name).strip(" .")[:120]
    return cleaned or "file" + (mimetypes.guess_extension(mime_type) or "")


def inbound_media_record(*, message: Message, media: dict | None, rejected: dict | None = None,
                         reply_to: str = "") -> Message:
    """What a `message.inbound` event adds to the received message: its file, and what it quotes.

    The file itself is fetched from the bridge by a job after commit (no network call inside
    the event's transaction); until then the attachment has no file and the inbox says so.
    """
    if reply_to and message.reply_to_id is None:
        quoted = Message.objects.filter(organization=message.organization_id, bridge_message_id=reply_to[:128],
                                        ).exclude(pk=message.pk).order_by("-direction").first()
        if quoted is not None:
            message.reply_to = quoted
            message.save(update_fields=["reply_to", "updated_at"])
    if rejected and not message.error_code:
        message.error_code = "media_rejected"
        message.error = (_("The patient sent a file that was not kept: %(error)s")
                         % {"error": str(rejected.get("error") or "")})[:500]
        message.save(update_fields=["error_code", "error", "updated_at"])
    media_id = str((media or {}).get("id") or "")[:64]
    if not media_id or MessageAttachment.objects.filter(message=message).exists():
        return message
    kind = str(media.get("kind") or "")
    mime_type = str(media.get("mime_type") or "")[:127]
    attachment = MessageAttachment.objects.create(
        organization_id=message.organization_id, message=message,
        kind=kind if kind in AttachmentKind.values else AttachmentKind.DOCUMENT, mime_type=mime_type,
        filename=attachment_filename(str(media.get("filename") or ""), mime_type),
        size=int(media.get("size") or 0), sha256=str(media.get("sha256") or "")[:64],
        voice=bool(media.get("voice")), bridge_media_id=media_id,
    )
    transaction.on_commit(partial(_enqueue_fetch, attachment.pk))
    return message


def _enqueue_fetch(attachment_id: int) -> None:
    task_configure("notifications.fetch_attachment", lock=f"fetch-attachment-{attachment_id}").defer(
        attachment_id=attachment_id)


class FetchRetry(Exception):
    """The bridge could not be reached; the fetch job is retried with backoff."""


def attachment_fetch(*, attachment_id: int) -> bool:
    """Bring a received file from the bridge into MEDIA_ROOT; True once it is here."""
    from apps.notifications.media import attachment_check
    from apps.whatsapp.client import BridgeClient, BridgeError, BridgeUnavailable

    attachment = MessageAttachment.objects.filter(pk=attachment_id).first()
    if attachment is None or attachment.file:
        return attachment is not None
    try:
        content = BridgeClient().media(attachment.organization_id, attachment.bridge_media_id)
    except BridgeUnavailable as exc:
        raise FetchRetry(exc.message) from exc
    except BridgeError as exc:
        content, error = None, exc.message
    else:
        error = _("The bridge no longer has this file.")
    if content is not None:
        try:
            attachment_check(content=content, content_type=attachment.mime_type, kind=attachment.kind)
        except ApplicationError as exc:
            content, error = None, exc.message
    with transaction.atomic():
        attachment = MessageAttachment.objects.select_for_update().get(pk=attachment_id)
        if attachment.file:
            return True
        if content is None:
            attachment.fetch_error = error[:300]
            attachment.save(update_fields=["fetch_error", "updated_at"])
            return False
        attachment.file.save(attachment.filename, ContentFile(content), save=False)
        attachment.size, attachment.sha256 = len(content), hashlib.sha256(content).hexdigest()
        attachment.fetch_error = ""
        attachment.save()
    return True
