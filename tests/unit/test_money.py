"""Money: integer minor units and a three-letter currency, never a float."""

from dataclasses import FrozenInstanceError
from decimal import Decimal

import pytest

from relance.domain.errors import CurrencyMismatch, InvalidInput
from relance.domain.money import Money, normalise_currency


def test_an_amount_keeps_its_minor_units_and_currency():
    money = Money(1050, "EUR")

    assert money.minor == 1050
    assert money.currency == "EUR"


@pytest.mark.parametrize("amount", [10.5, 10.0, Decimal("10"), "10", None])
def test_an_amount_that_is_not_a_whole_number_of_minor_units_is_refused(amount):
    with pytest.raises(InvalidInput, match="whole numbers of minor units"):
        Money(amount, "EUR")


@pytest.mark.parametrize("flag", [True, False])
def test_a_boolean_is_never_taken_for_an_amount(flag):
    with pytest.raises(InvalidInput, match="whole numbers"):
        Money(flag, "EUR")


@pytest.mark.parametrize(
    ("raw", "normalised"), [("eur", "EUR"), (" usd ", "USD"), ("Gbp", "GBP"), ("CHF", "CHF")]
)
def test_a_currency_code_is_trimmed_and_upper_cased(raw, normalised):
    assert normalise_currency(raw) == normalised


@pytest.mark.parametrize("raw", ["", "EU", "EURO", "E1R", "€", "E R", "eu r"])
def test_a_currency_code_that_is_not_three_letters_is_refused(raw):
    with pytest.raises(InvalidInput, match="ISO 4217"):
        normalise_currency(raw)


def test_money_of_normalises_the_currency_it_is_given():
    assert Money.of(500, " eur") == Money(500, "EUR")


def test_money_of_refuses_a_malformed_currency():
    with pytest.raises(InvalidInput, match="ISO 4217"):
        Money.of(500, "EURO")


@pytest.mark.parametrize("currency", ["eur", "EURO", "E1R", ""])
def test_the_constructor_itself_refuses_a_currency_not_already_in_iso_form(currency):
    with pytest.raises(InvalidInput, match="ISO 4217"):
        Money(100, currency)


def test_a_currency_with_a_trailing_newline_is_refused_by_the_constructor():
    with pytest.raises(InvalidInput):
        Money(1, "EUR\n")


def test_zero_is_an_amount_of_nothing_in_the_given_currency():
    assert Money.zero("EUR") == Money(0, "EUR")


def test_amounts_in_the_same_currency_add_up():
    assert Money(1000, "EUR") + Money(250, "EUR") == Money(1250, "EUR")


def test_subtracting_can_go_below_zero():
    assert Money(100, "EUR") - Money(250, "EUR") == Money(-150, "EUR")


def test_adding_two_currencies_is_refused():
    with pytest.raises(CurrencyMismatch, match="Cannot combine USD with EUR"):
        Money(100, "EUR") + Money(100, "USD")


def test_subtracting_two_currencies_is_refused():
    with pytest.raises(CurrencyMismatch, match="Cannot combine EUR with GBP"):
        Money(100, "GBP") - Money(100, "EUR")


def test_a_currency_mismatch_is_a_kind_of_invalid_input():
    with pytest.raises(InvalidInput):
        Money(1, "EUR") + Money(1, "USD")


@pytest.mark.parametrize(("minor", "positive"), [(1, True), (0, False), (-1, False)])
def test_only_an_amount_above_zero_is_positive(minor, positive):
    assert Money(minor, "EUR").is_positive() is positive


def test_money_reads_as_minor_units_when_printed():
    assert str(Money(1050, "EUR")) == "1050 EUR (minor units)"


def test_money_cannot_be_changed_once_made():
    money = Money(100, "EUR")

    with pytest.raises(FrozenInstanceError):
        money.minor = 200  # type: ignore[misc]
