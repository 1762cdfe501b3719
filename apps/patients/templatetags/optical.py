from decimal import Decimal

from django import template

from apps.patients.phones import phone_display

register = template.Library()


@register.filter
def diopters(value):
    """+1.25 / -0.50 / 0.00: opticians always write the sign."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    return f"+{value:.2f}" if value > 0 else f"{value:.2f}"


@register.filter
def phone(value):
    return phone_display(value)
