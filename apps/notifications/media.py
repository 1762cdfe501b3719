"""Which files may travel on WhatsApp: the type is sniffed from the bytes, the size is limited.

A browser's or a bridge's declared type is only a claim, so the content decides; the two must
agree. These are WhatsApp's own media types; the bridge checks the same again on its side.
"""

from __future__ import annotations

import filetype
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from apps.common.exceptions import ApplicationError
from apps.notifications.models import AttachmentKind

MB = 1024 * 1024
ALLOWED = {
    AttachmentKind.IMAGE: frozenset({"image/jpeg", "image/png", "image/webp"}),
    AttachmentKind.DOCUMENT: frozenset({
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "image/jpeg", "image/png",
    }),
    AttachmentKind.AUDIO: frozenset({"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr"}),
    AttachmentKind.VIDEO: frozenset({"video/mp4", "video/3gpp"}),
}
KIND_LIMITS = {AttachmentKind.IMAGE: 5 * MB, AttachmentKind.DOCUMENT: 100 * MB, AttachmentKind.AUDIO: 16 * MB,
               AttachmentKind.VIDEO: 16 * MB}
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/opus": "audio/ogg",
           "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4", "audio/mp3": "audio/mpeg", "audio/x-aac": "audio/aac",
           "video/3gp": "video/3gpp"}
# Browsers label files they cannot name this way; it claims nothing, so only the content counts.
UNKNOWN_TYPES = {"", "application/octet-stream"}


def normalize_mime(value: str | None) -> str:
    base = (value or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def sniff(content: bytes) -> str | None:
    found = filetype.guess_mime(content[:8192])
    return normalize_mime(found) if found else None


def kind_for(mime_type: str) -> str | None:
    """The natural kind of a type: images are images (not documents) unless asked otherwise."""
    for kind in (AttachmentKind.IMAGE, AttachmentKind.AUDIO, AttachmentKind.VIDEO, AttachmentKind.DOCUMENT):
        if mime_type in ALLOWED[kind]:
            return kind
    return None


def limit_for(kind: str) -> int:
    return min(KIND_LIMITS[kind], settings.WHATSAPP_MEDIA_MAX_BYTES)


def attachment_check(*, content: bytes, content_type: str, kind: str | None = None,
                     field: str = "content") -> tuple[str, str]:
    """(kind, MIME type) of a file that may be sent; ApplicationError naming `field` otherwise."""
    if not content:
        raise ApplicationError(_("The file is empty."), field=field)
    found = sniff(content)
    kind = kind or (kind_for(found) if found else None)
    if kind not in ALLOWED or found not in ALLOWED[kind]:
        raise ApplicationError(
            _("This file type cannot be sent by WhatsApp. Send a JPEG, PNG or WebP image, a PDF, Word or Excel "
              "document, an audio or an MP4 video."), field=field)
    limit = limit_for(kind)
    if len(content) > limit:
        raise ApplicationError(_("The file is larger than %(max)s.") % {"max": filesizeformat(limit)}, field=field)
    declared = normalize_mime(content_type)
    if declared not in UNKNOWN_TYPES and declared != found:
        raise ApplicationError(
            _("The file says it is %(declared)s but its content is %(found)s.") % {"declared": declared,
                                                                                   "found": found}, field=field)
    return kind, found
