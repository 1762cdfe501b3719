"""Request bodies of the HTTP contract; validation errors name the offending field."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from .phones import InvalidPhone, to_e164


def _org_to_str(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else value


_ORG_PATTERN = r"^[A-Za-z0-9_.-]+$"
# Callers of the Node server this bridge replaces sent numbers as well as strings.
OrganizationId = Annotated[
    str,
    BeforeValidator(_org_to_str),
    StringConstraints(min_length=1, max_length=64, pattern=_ORG_PATTERN),
    WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1, "maxLength": 64, "pattern": _ORG_PATTERN},
                              {"type": "integer"}]}),
]


# Any format a person types; a number that is not one answers 422 naming `phone`.
Phone = Annotated[str, StringConstraints(min_length=1, max_length=64)]


def _phone(value: str) -> str:
    try:
        return to_e164(value)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None


# Strict: a JSON body is read as its schema says ("5" is not a number, false is not 0).
STRICT = ConfigDict(extra="ignore", strict=True)


class OrgBody(BaseModel):
    model_config = STRICT
    organization_id: OrganizationId


def _region(value):
    import phonenumbers

    if value is None:
        return None
    region = str(value).strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("default_region must be a two-letter region such as CO")
    return region


Region = Annotated[str, BeforeValidator(_region)]


class StartSessionBody(OrgBody):
    engine: Literal["sandbox", "whatsmeow", "cloud"] | None = None
    default_region: Region | None = None


class Button(BaseModel):
    model_config = STRICT
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class MediaBody(BaseModel):
    """A file inside a JSON body: its bytes base64-encoded in `data` (standard alphabet, padded)."""

    model_config = STRICT

    kind: Literal["image", "document", "audio", "video"]
    mime_type: Annotated[str, StringConstraints(min_length=3, max_length=127)]
    filename: Annotated[str, StringConstraints(max_length=255)] | None = None
    data: str
    voice: bool = False

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("data must be the file's bytes in base64") from None
        return value

    def content(self) -> bytes:
        return base64.b64decode(self.data)


Text = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class TemplateParameter(BaseModel):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")] | None = None
    text: Text


class Template(BaseModel):
    """An approved Cloud API template; engines without templates send `message` instead."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")]
    parameters: Annotated[list[TemplateParameter], Field(max_length=20)] = []
    quick_replies: bool = False


class ListRow(BaseModel):
    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=24)]
    description: Annotated[str, StringConstraints(max_length=72)] | None = None


class ListSection(BaseModel):
    title: Annotated[str, StringConstraints(max_length=24)] | None = None
    rows: Annotated[list[ListRow], Field(min_length=1, max_length=10)]


class ListMessage(BaseModel):
    button: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    sections: Annotated[list[ListSection], Field(min_length=1, max_length=10)]

    @field_validator("sections")
    @classmethod
    def _rows(cls, value):
        rows = [row for section in value for row in section.rows]
        if len(rows) > 10:
            raise ValueError("a list has at most 10 rows in all its sections")
        if len({row.id for row in rows}) != len(rows):
            raise ValueError("row ids must be unique")
        return value


class MessageFields(BaseModel):
    """What one message is: the body of /api/send-message without its organization."""

    model_config = STRICT
    # Parsed in the route with the session's default region: national numbers are allowed.
    phone: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    # Declared before `message` and `buttons` so that their validators can see it.
    media: MediaBody | None = None
    # Required for a text send; with media it is the caption and may be left out.
    message: Annotated[str | None, Field(validate_default=True)] = None
    client_message_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    buttons: Annotated[list[Button], Field(max_length=3)] | None = None
    template: Template | None = None
    list_message: ListMessage | None = Field(default=None, alias="list")
    # Not sent at all after this moment (ISO 8601 with offset): a reminder must never arrive
    # after its appointment, however long the session stays down.
    # JSON has no datetime type: the strict bodies must still read this one from its ISO string.
    deliver_before: Annotated[AwareDatetime, Field(strict=False)] | None = None

    @field_validator("deliver_before")
    @classmethod
    def _in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.timestamp() <= datetime.now().timestamp():
            raise ValueError("deliver_before is already past")
        return value

    @field_validator("message")
    @classmethod
    def _non_empty(cls, value: str | None, info: ValidationInfo) -> str:
        if info.data.get("media") is not None:
            return value or ""
        if value is None:
            raise ValueError("message is required (it may only be left out with media)")
        if not value.strip():
            raise ValueError("message must not be empty")
        return value

    @field_validator("buttons")
    @classmethod
    def _unique_ids(cls, value, info: ValidationInfo):
        if value is not None and len({b.id for b in value}) != len(value):
            raise ValueError("button ids must be unique")
        if value and info.data.get("media") is not None:
            raise ValueError("buttons cannot be sent with media")
        return value


# MessageFields first: the body keeps organization_id as its first field.
class SendMessageBody(MessageFields, OrgBody):
    pass


# The most messages of one organization a /api/send-messages call takes.
MAX_BATCH = 100


class BatchMessage(MessageFields):
    """One message of a /api/send-messages batch: its own id is required (retries of a batch rely on
    it), and files go one by one through /api/send-message."""

    client_message_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    media: None = Field(default=None, description="not allowed in a batch: send files through /api/send-message")

    @field_validator("media", mode="before")
    @classmethod
    def _no_media(cls, value):
        if value is not None:
            raise ValueError("a batch carries no files: send media one at a time through /api/send-message")
        return value


class SendMessagesBody(OrgBody):
    messages: Annotated[list[BatchMessage], Field(min_length=1, max_length=MAX_BATCH)]

    @field_validator("messages")
    @classmethod
    def _unique_client_ids(cls, value: list[BatchMessage]) -> list[BatchMessage]:
        if len({m.client_message_id for m in value}) != len(value):
            raise ValueError("client_message_id must be unique within a batch")
        return value


class BatchResult(BaseModel):
    """What /api/send-message would have answered for this message: `http_status` is its status code."""

    client_message_id: str
    http_status: int
    status: Literal["sent", "queued", "failed"] | None = None
    message_id: str | None = None
    error: str | None = None
    error_code: str | None = None
    field: str | None = None


class SendMessagesAnswer(BaseModel):
    results: list[BatchResult]


class CloudCredentialsBody(OrgBody):
    """What a clinic copies from its Meta app; kept only in the bridge's store, encrypted."""

    phone_number_id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{5,32}$")]
    waba_id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{5,32}$")]
    access_token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=1024)]
    app_secret: Annotated[str, StringConstraints(strip_whitespace=True, min_length=16, max_length=128)]
    verify_token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=256)]
    default_region: Region | None = None


class PairingCodeBody(OrgBody):
    phone: Phone

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _phone(value)


class SandboxReplyBody(BaseModel):
    model_config = STRICT
    phone: Phone
    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    button_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    # A file from the patient; `text` is then its caption and may be left out.
    media: MediaBody | None = None
    # The message the patient swipe-replies to: a message_id or whatsapp_id of this phone's chat.
    reply_to: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _phone(value)


class SandboxDisconnectBody(BaseModel):
    model_config = STRICT
    seconds: Annotated[float, Field(ge=0, le=3600)] = 0


class SandboxPairBody(BaseModel):
    model_config = STRICT
    code: Annotated[str, StringConstraints(min_length=8, max_length=12)]


_Count = Annotated[int, Field(ge=0, le=100_000)]
_Millis = Annotated[int, Field(ge=0, le=3_600_000)]


class PacingBody(BaseModel):
    """An organization's own pacing; a field left out keeps the engine's or environment's value."""

    model_config = ConfigDict(extra="forbid", strict=True)
    min_gap_ms: _Millis | None = None
    jitter_ms: _Millis | None = None
    typing_ms: Annotated[int, Field(ge=0, le=60_000)] | None = None
    hourly_cap: _Count | None = None
    daily_cap: _Count | None = None
    warmup_days: Annotated[int, Field(ge=0, le=90)] | None = None
    warmup_start: _Count | None = None
