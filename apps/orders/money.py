"""Money is an integer count of the currency's minor units (COP centavos, USD cents): never a float.

Staff type amounts in major units ("350.000", "12,50"); they are parsed with Decimal and converted
exactly, and anything finer than the currency's minor unit is refused rather than rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# ISO 4217 minor-unit exponents of the currencies a clinic may choose.
CURRENCIES = {"COP": 2, "USD": 2, "MXN": 2, "PEN": 2, "EUR": 2, "CLP": 0}
CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]
DEFAULT_CURRENCY = "COP"
SYMBOLS = {"COP": "$", "USD": "US$", "MXN": "MX$", "PEN": "S/", "EUR": "€", "CLP": "$"}


def exponent(currency: str) -> int:
    return CURRENCIES.get(currency, 2)


def to_minor(value, currency: str) -> int:
    """'350000', '350.000' (es thousands), '12,50' or a Decimal in major units → minor units."""
    if isinstance(value, int):
        return value * 10 ** exponent(currency)
    if isinstance(value, float):
        raise TypeError("money is never a float")
    text = str(value).strip().replace(" ", "").replace("$", "")
    if "," in text:
        # Spanish writing: dots group thousands, the comma is the decimal mark.
        text = text.replace(".", "").replace(",", ".")
    elif text.count(".") > 1 or (text.count(".") == 1 and len(text.rsplit(".", 1)[1]) == 3):
        text = text.replace(".", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(_("Enter an amount such as 350000 or 12,50."), code="invalid") from exc
    minor = amount * 10 ** exponent(currency)
    if minor != minor.to_integral_value():
        raise ValidationError(_("%(currency)s has no amounts smaller than its minor unit."),
                              params={"currency": currency}, code="precision")
    return int(minor)


def format_money(minor: int | None, currency: str) -> str:
    """'$ 350.000' or '$ 12.345,50': es-CO grouping, decimals only when there are some."""
    if minor is None:
        return ""
    digits = exponent(currency)
    sign = "-" if minor < 0 else ""
    major, fraction = divmod(abs(int(minor)), 10 ** digits) if digits else (abs(int(minor)), 0)
    grouped = f"{major:,}".replace(",", ".")
    text = f"{grouped},{fraction:0{digits}d}" if fraction else grouped
    return f"{sign}{SYMBOLS.get(currency, currency)} {text}"


def major_text(minor: int, currency: str) -> str:
    """The amount in major units as a form shows it ('350000' or '12,50')."""
    digits = exponent(currency)
    major, fraction = divmod(int(minor), 10 ** digits) if digits else (int(minor), 0)
    return f"{major},{fraction:0{digits}d}" if fraction else str(major)
