"""Phone numbers are stored in E.164, read with the organization's default region."""

import re
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

INVALID_PHONE = _("Enter a valid phone number, e.g. 300 123 4567 or +57 300 123 4567.")


def phone_parse(raw: str, *, region: str) -> str | None:
    """E.164 form of `raw`, or None when it is not a valid number.

    Digits without "+" that already start with a country code ("573001234567", as WhatsApp sends them)
    are read as international when the national reading is not valid. A pure function of its two
    arguments, remembered for the last few thousand numbers: the same senders write again and again."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return _phone_parse(raw, region)


@lru_cache(maxsize=8192)
def _phone_parse(raw: str, region: str) -> str | None:
    candidates = [raw]
    digits = re.sub(r"\D", "", raw)
    if not raw.startswith("+") and len(digits) > 10:
        candidates.append(f"+{digits}")
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def phone_normalize(raw: str, *, region: str) -> str:
    """E.164 of `raw` ("" stays ""); ValidationError on the `phone` field when it is not a valid number."""
    if not (raw or "").strip():
        return ""
    e164 = phone_parse(raw, region=region)
    if e164 is None:
        raise ValidationError({"phone": [INVALID_PHONE]})
    return e164


def phone_display(e164: str) -> str:
    if not e164:
        return ""
    return _phone_display(e164)


# A pure function of the number, remembered as phone_parse is: parsing and formatting with phonenumbers was
# a tenth of a search page (25 numbers), and the same patients appear on page after page.
@lru_cache(maxsize=8192)
def _phone_display(e164: str) -> str:
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164
