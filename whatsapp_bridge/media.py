"""Media the bridge accepts, sends and keeps: type checks by content sniffing, size limits, files.

A declared MIME type is only a claim: the bytes are sniffed (`filetype`, magic numbers) and
must be of an allowed type for the kind, and the same type as declared. Files live in
BRIDGE_DATA_DIR/media/<organization_id>/<media_id>, so one organization's media is never
reached through another's path.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import filetype
from fastapi.responses import Response

from .engines.base import MEDIA_KINDS, Media

MB = 1024 * 1024

# What WhatsApp itself accepts for each kind (Cloud API "supported media types").
ALLOWED: dict[str, frozenset[str]] = {
    "image": frozenset({"image/jpeg", "image/png", "image/webp"}),
    "document": frozenset(
        {
            "application/pdf",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "image/jpeg",
            "image/png",
        }
    ),
    "audio": frozenset({"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/amr"}),
    "video": frozenset({"video/mp4", "video/3gpp"}),
}
# WhatsApp's own per-kind ceilings; BRIDGE_MAX_MEDIA_BYTES lowers them, never raises them.
KIND_LIMITS = {"image": 5 * MB, "document": 100 * MB, "audio": 16 * MB, "video": 16 * MB}

ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/opus": "audio/ogg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/mp3": "audio/mpeg",
    "audio/x-aac": "audio/aac",
    "video/3gp": "video/3gpp",
}
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
    "audio/amr": ".amr",
    "video/mp4": ".mp4",
    "video/3gpp": ".3gp",
}
# Browsers label files they cannot name this way; it claims nothing, so only the content counts.
UNKNOWN_TYPES = {"", "application/octet-stream"}
_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+", re.UNICODE)


class MediaRejected(Exception):
    """Media refused before anything is stored or sent; `field` names the offending input."""

    def __init__(self, status: int, message: str, field: str):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def normalize_mime(value: str | None) -> str:
    base = (value or "").split(";", 1)[0].strip().lower()
    return ALIASES.get(base, base)


def sniff(data: bytes) -> str | None:
    found = filetype.guess_mime(data[:8192])
    if found is None:
        return None
    return normalize_mime(found)


def limit_for(kind: str, max_bytes: int) -> int:
    return min(KIND_LIMITS[kind], max_bytes)


def safe_filename(name: str | None, mime_type: str) -> str:
    cleaned = _UNSAFE_NAME.sub("_", Path(name or "").name).strip(" .")[:120]
    return cleaned or ("file" + EXTENSIONS.get(mime_type, ""))


def check(kind: str, mime_type: str | None, data: bytes, max_bytes: int, prefix: str = "media") -> str:
    """The normalized MIME type of valid media; MediaRejected naming `<prefix>.<field>` otherwise."""
    if kind not in MEDIA_KINDS:
        raise MediaRejected(422, f"kind must be one of {', '.join(MEDIA_KINDS)}", f"{prefix}.kind")
    if not data:
        raise MediaRejected(422, "the file is empty", f"{prefix}.data")
    limit = limit_for(kind, max_bytes)
    if len(data) > limit:
        raise MediaRejected(413, f"{kind} is larger than {limit} bytes ({len(data)} bytes)", f"{prefix}.data")
    declared = normalize_mime(mime_type)
    found = sniff(data)
    if found is None or found not in ALLOWED[kind]:
        allowed = ", ".join(sorted(ALLOWED[kind]))
        what = found or "an unrecognised type"
        raise MediaRejected(415, f"the content is {what}, not an allowed {kind} ({allowed})", f"{prefix}.data")
    if declared not in UNKNOWN_TYPES and declared != found:
        raise MediaRejected(415, f"mime_type says {declared} but the content is {found}", f"{prefix}.mime_type")
    return found


def from_body(body, caption: str, max_bytes: int) -> Media:
    """The checked Media of a request's `media` object (schemas.MediaBody)."""
    data = body.content()
    mime_type = check(body.kind, body.mime_type, data, max_bytes)
    return Media(
        kind=body.kind, mime_type=mime_type, data=data, filename=body.filename, caption=caption or "", voice=body.voice
    )


class MediaStore:
    """Files under <root>/<organization_id>/, their description in the bridge's SQLite store."""

    def __init__(self, root: Path, store):
        self.root = root
        self.store = store

    def _path(self, org: str, media_id: str) -> Path:
        return self.root / org / media_id

    def save(self, org: str, media: Media, direction: str) -> dict:
        media_id = uuid.uuid4().hex
        path = self._path(org, media_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(media.data)
        tmp.replace(path)
        row = {
            "media_id": media_id,
            "organization_id": org,
            "direction": direction,
            "kind": media.kind,
            "mime_type": media.mime_type,
            "filename": safe_filename(media.filename, media.mime_type),
            "caption": media.caption or "",
            "voice": int(media.voice),
            "size": len(media.data),
            "sha256": hashlib.sha256(media.data).hexdigest(),
            "created_at": time.time(),
        }
        self.store.add_media(row)
        return row

    def row(self, org: str, media_id: str) -> dict | None:
        return self.store.media(org, media_id)

    def load(self, org: str, media_id: str) -> Media | None:
        row = self.row(org, media_id)
        if row is None:
            return None
        path = self._path(org, media_id)
        if not path.is_file():
            return None
        return Media(
            kind=row["kind"],
            mime_type=row["mime_type"],
            data=path.read_bytes(),
            filename=row["filename"],
            caption=row["caption"],
            voice=bool(row["voice"]),
        )


def public(row: dict) -> dict:
    """How a stored media is described in events and API answers (no bytes, no path)."""
    return {
        "id": row["media_id"],
        "kind": row["kind"],
        "mime_type": row["mime_type"],
        "filename": row["filename"],
        "size": row["size"],
        "sha256": row["sha256"],
        "voice": bool(row["voice"]),
    }


def media_response(media: Media, row: dict) -> Response:
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(media.filename or 'file')}",
        "X-Media": json.dumps(public(row)),
    }
    return Response(media.data, media_type=media.mime_type, headers=headers)
