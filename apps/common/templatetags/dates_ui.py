"""Dates written out in the active language ("martes 3 de noviembre" / "Tuesday, November 3")."""

from django import template
from django.utils.formats import date_format
from django.utils.translation import pgettext

register = template.Library()


def day_format(*, year: bool = False) -> str:
    # Django's own formats have no weekday; these are translated like any other string.
    if year:
        return pgettext("date format with weekday and year", "l, F j, Y")
    return pgettext("date format with weekday", "l, F j")


@register.filter
def long_day(value, with_year=False):
    """`{{ day|long_day }}`, `{{ day|long_day:True }}` for the year too."""
    if not value:
        return ""
    return date_format(value, day_format(year=bool(with_year)))
