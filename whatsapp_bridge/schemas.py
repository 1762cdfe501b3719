"""Request bodies of the HTTP contract; validation errors name the offending field."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from .phones import InvalidPhone, to_e164


def _org_to_str(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else value


OrganizationId = Annotated[
    str,
    BeforeValidator(_org_to_str),
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"),
]


def _phone(value: str) -> str:
    try:
        return to_e164(value)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None


class OrgBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    organization_id: OrganizationId


class StartSessionBody(OrgBody):
    engine: Literal["sandbox", "whatsmeow"] | None = None


class Button(BaseModel):
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class SendMessageBody(OrgBody):
    phone: str
    message: str
    client_message_id: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    buttons: Annotated[list[Button], Field(max_length=3)] | None = None

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _phone(value)

    @field_validator("message")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message must not be empty")
        return value

    @field_validator("buttons")
    @classmethod
    def _unique_ids(cls, value):
        if value is not None and len({b.id for b in value}) != len(value):
            raise ValueError("button ids must be unique")
        return value


class PairingCodeBody(OrgBody):
    phone: str

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _phone(value)


class SandboxReplyBody(BaseModel):
    phone: str
    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None
    button_id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str) -> str:
        return _phone(value)


class SandboxDisconnectBody(BaseModel):
    seconds: Annotated[float, Field(ge=0, le=3600)] = 0


class SandboxPairBody(BaseModel):
    code: Annotated[str, StringConstraints(min_length=8, max_length=12)]
