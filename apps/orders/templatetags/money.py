from django import template

from apps.orders.money import format_money

register = template.Library()


@register.filter
def money(minor, currency="COP"):
    """{{ amount|money:order.currency }} → "$ 350.000"."""
    return format_money(minor, currency)
