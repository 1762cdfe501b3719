import pytest
from django.core.exceptions import ValidationError

from apps.orders.money import format_money, to_minor


@pytest.mark.parametrize(("typed", "currency", "minor"), [
    ("350000", "COP", 35_000_000), ("350.000", "COP", 35_000_000), ("1.250.000", "COP", 125_000_000),
    ("12,50", "COP", 1250), ("12.50", "USD", 1250), ("7", "CLP", 7), (3, "COP", 300),
])
def test_typed_amounts_become_exact_minor_units(typed, currency, minor):
    assert to_minor(typed, currency) == minor


@pytest.mark.parametrize(("typed", "currency"), [("12,505", "COP"), ("1,5", "CLP"), ("doce", "COP")])
def test_amounts_finer_than_the_currency_or_not_numbers_are_refused(typed, currency):
    with pytest.raises(ValidationError):
        to_minor(typed, currency)


def test_floats_are_never_money():
    with pytest.raises(TypeError):
        to_minor(12.5, "COP")


def test_amounts_read_as_in_colombia():
    assert format_money(35_000_000, "COP") == "$ 350.000"
    assert format_money(123_456_750, "COP") == "$ 1.234.567,50"
    assert format_money(-1250, "USD") == "-US$ 12,50"
    assert format_money(0, "COP") == "$ 0"
