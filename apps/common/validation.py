"""What PostgreSQL cannot store, checked once at the edges (JSON parser, query strings, form posts)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Deeper than any document the API reads; far below Python's recursion limit.
MAX_JSON_DEPTH = 32

# Days that filters turn into local day bounds (midnight to the next midnight, shifted by the clinic's
# time zone): the first and last days Python knows have no neighbour, so the range stops short of them.
MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2999, 12, 31)


def unstorable_text_error(value: str) -> str | None:
    """Why PostgreSQL would refuse this text (NUL byte, lone UTF-16 surrogate), or None."""
    if "\x00" in value:
        return _("Null characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("Contains characters that are not valid text.")
    return None


def validate_day_in_range(value: dt.date) -> None:
    if not MIN_DAY <= value <= MAX_DAY:
        raise ValidationError(_("Choose a day between %(first)s and %(last)s.")
                              % {"first": MIN_DAY.isoformat(), "last": MAX_DAY.isoformat()}, code="day_range")


def is_whole_number(value) -> bool:
    """ASCII digits only: str.isdigit() also admits "²" and "٣", which int() then refuses with a 500."""
    return isinstance(value, str) and value.isascii() and value.isdecimal()
