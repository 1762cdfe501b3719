"""The JSON error every route answers with: {"error": ..., "field": ...}."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ApiError(Exception):
    def __init__(self, status: int, error: str, field: str | None = None, **extra):
        super().__init__(error)
        self.status = status
        self.body = {"error": error, **({"field": field} if field else {}), **extra}


class ErrorBody(BaseModel):
    """What every refusal answers; `field` names the input it is about, when there is one."""

    model_config = ConfigDict(extra="allow")
    error: str
    field: str | None = None


_DESCRIPTIONS = {
    400: "The body is not valid JSON, or names an engine this bridge does not run.",
    401: "Missing or invalid X-API-Key (or, on Meta's webhook, a missing or wrong X-Hub-Signature-256).",
    403: "Meta's subscription check named a verify token no connected account has.",
    404: "No session was ever started for this organization (or nothing is pending).",
    409: "The session is not in a state that allows this (not linked, not showing a QR, …).",
    410: "This QR code has expired or was already used.",
    413: "The body is larger than the bridge accepts.",
    # FastAPI lists 422 for every route with parameters; this is the body it answers with.
    422: "A field is invalid: `field` names it, `detail` lists every problem.",
    502: "WhatsApp refused or failed the send; `error_code` says why.",
    503: "A file of the notification could not be fetched from the Graph API yet; Meta retries.",
}


# What any route with a JSON body can answer besides its own refusals.
BODY = (400, 401, 413, 422)


def error_responses(*codes: int, html: bool = False) -> dict:
    """The OpenAPI `responses` of a route's refusals, so that its schema lists every status it answers."""
    if html:
        return {code: {"description": _DESCRIPTIONS[code], "content": {"text/html": {"schema": {"type": "string"}}}}
                for code in codes}
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}
