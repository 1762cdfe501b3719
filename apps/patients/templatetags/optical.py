from decimal import Decimal

from django import template
from django.utils import formats

from apps.patients.phones import phone_display

register = template.Library()


@register.filter
def diopters(value):
    """+1,25 / -0,50 / 0,00 (in English +1.25): opticians always write the sign; the mark is the language's."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    text = formats.number_format(abs(value), 2, use_l10n=True, force_grouping=False)
    return f"+{text}" if value > 0 else (f"-{text}" if value < 0 else text)


@register.filter
def millimetres(value):
    """32,5 / 8,60 in Spanish, 32.5 / 8.60 in English: the page's one decimal style, without a trailing zero."""
    if value is None or value == "":
        return ""
    value = Decimal(value).normalize()
    places = max(1, -value.as_tuple().exponent) if value != value.to_integral() else 1
    return formats.number_format(value, places, use_l10n=True, force_grouping=False)


@register.filter
def phone(value):
    return phone_display(value)
