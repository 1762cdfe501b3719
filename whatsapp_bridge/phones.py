"""E.164 phone numbers, validated with phonenumbers."""

from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def to_e164(raw: str, region: str | None = None) -> str:
    """E.164 from an E.164 number, or from a national / digits-only one read in `region`.

    Without a region only E.164 is accepted (what the bridge's own callers send).
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhone("phone is required")
    text = raw.strip()
    if not text.startswith("+") and not region:
        raise InvalidPhone("phone must be in E.164 format, e.g. +573001234567")
    if not text.startswith("+") and not any(c.isdigit() for c in text):
        raise InvalidPhone("phone is not a valid number")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"phone is not a valid number: {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("phone is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def from_digits(digits: str) -> str | None:
    """A WhatsApp user part (digits, no plus) as E.164, or None when it is not a phone."""
    if not digits or not digits.isdigit():
        return None
    try:
        return to_e164("+" + digits)
    except InvalidPhone:
        return "+" + digits
