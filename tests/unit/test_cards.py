"""Cards typed on the payment page: Luhn, brands by IIN, lengths, expiry, CVC, name — every
mistake reported at once, and the number and CVC never shown back."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.domain.cards import (
    CardBrand,
    CardEntry,
    CardField,
    CardProblem,
    InvalidCard,
    brand_of,
    card_lengths,
    cvc_length,
    luhn_valid,
    read_card,
)
from relance.domain.errors import InvalidInput

TODAY = date(2026, 11, 21)  # T0's date
VISA = "4242424242424242"
AMEX = "378282246310005"
NUMBER, EXPIRY, CVC, NAME = CardField.NUMBER, CardField.EXPIRY, CardField.CVC, CardField.NAME


def with_check_digit(partial: str) -> str:
    """`partial` completed with the digit that makes it pass Luhn."""
    return next(partial + d for d in "0123456789" if luhn_valid(partial + d))


def problems(number=VISA, expiry="12/28", cvc="123", name="Ada Lovelace") -> list[CardProblem]:
    with pytest.raises(InvalidCard) as caught:
        read_card(number, expiry, cvc, name, TODAY)
    return list(caught.value.problems)


# -- Luhn ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        VISA,
        "4000000000009995",
        "4000000000000069",
        "4000000000000002",
        "5555555555554444",
        "2223003122003222",
        AMEX,
        "371449635398431",
        "6011111111111117",
        "6011000990139424",
        "79927398713",  # the textbook example
    ],
)
def test_published_test_card_numbers_pass_the_luhn_check(number):
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424241",  # last digit wrong
        "4242424242424252",  # one digit wrong in the middle
        "2424424242424242",  # two neighbours swapped
        "79927398710",
        "",
        "4242 4242 4242 4242",  # separators are removed before, not here
        "\uff14\uff12" * 8,  # full-width digits are not card digits
    ],
)
def test_a_mistyped_or_non_digit_number_fails_the_luhn_check(number):
    assert not luhn_valid(number)


@given(st.text(alphabet="0123456789", min_size=11, max_size=18), st.integers(0, 17))
def test_changing_any_single_digit_of_a_valid_number_breaks_the_luhn_check(partial, where):
    number = with_check_digit(partial)
    position = where % len(number)
    changed = str((int(number[position]) + 1) % 10)

    assert not luhn_valid(number[:position] + changed + number[position + 1 :])


# -- brands ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("4", CardBrand.VISA),
        ("51", CardBrand.MASTERCARD),
        ("55", CardBrand.MASTERCARD),
        ("2221", CardBrand.MASTERCARD),
        ("2720", CardBrand.MASTERCARD),
        ("34", CardBrand.AMEX),
        ("37", CardBrand.AMEX),
        ("6011", CardBrand.DISCOVER),
        ("65", CardBrand.DISCOVER),
        ("644", CardBrand.DISCOVER),
        ("649", CardBrand.DISCOVER),
        ("50", CardBrand.UNKNOWN),
        ("56", CardBrand.UNKNOWN),
        ("2220", CardBrand.UNKNOWN),
        ("2721", CardBrand.UNKNOWN),
        ("35", CardBrand.UNKNOWN),  # JCB
        ("36", CardBrand.UNKNOWN),  # Diners
        ("643", CardBrand.UNKNOWN),
        ("6010", CardBrand.UNKNOWN),
        ("", CardBrand.UNKNOWN),
        ("4x", CardBrand.UNKNOWN),
    ],
)
def test_the_brand_is_read_from_the_first_digits(prefix, brand):
    assert brand_of(prefix + "0000000000") is brand


def test_the_brand_is_known_while_the_number_is_still_being_typed():
    assert brand_of("4") is CardBrand.VISA
    assert brand_of("37") is CardBrand.AMEX
    assert brand_of("222") is CardBrand.UNKNOWN  # 2221 to 2720: not known yet


def test_american_express_has_a_four_digit_code_and_the_others_three():
    assert cvc_length(CardBrand.AMEX) == 4
    for brand in (CardBrand.VISA, CardBrand.MASTERCARD, CardBrand.DISCOVER, CardBrand.UNKNOWN):
        assert cvc_length(brand) == 3


def test_each_brand_issues_numbers_of_its_own_lengths():
    assert card_lengths(CardBrand.AMEX) == {15}
    assert card_lengths(CardBrand.MASTERCARD) == {16}
    assert card_lengths(CardBrand.VISA) == {13, 16, 19}
    assert card_lengths(CardBrand.DISCOVER) == {16, 17, 18, 19}
    assert card_lengths(CardBrand.UNKNOWN) == set()


# -- a good card -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "cvc", "brand"),
    [
        ("4242 4242 4242 4242", "123", CardBrand.VISA),
        ("5555-5555-5555-4444", "123", CardBrand.MASTERCARD),
        ("2223 0031 2200 3222", "123", CardBrand.MASTERCARD),
        ("3782 822463 10005", "1234", CardBrand.AMEX),
        ("6011111111111117", "123", CardBrand.DISCOVER),
        ("4222222222222", "123", CardBrand.VISA),  # 13-digit Visa
    ],
)
def test_a_good_card_of_each_brand_is_read_as_digits(number, cvc, brand):
    card = read_card(number, "12/28", cvc, "Ada Lovelace", TODAY)

    assert card.number == number.replace(" ", "").replace("-", "")
    assert card.brand is brand
    assert card.last4 == card.number[-4:]
    assert card.cvc == cvc


@pytest.mark.parametrize("expiry", ["08/29", "08 / 29", "08/2029", "0829", " 08/29 ", "8/29"])
def test_the_expiry_is_read_in_every_usual_form(expiry):
    card = read_card(VISA, expiry, "123", "Ada", TODAY)

    assert (card.exp_month, card.exp_year) == (8, 2029)


def test_the_name_is_kept_without_surrounding_or_repeated_spaces():
    assert read_card(VISA, "12/28", " 123 ", "  Ada   Lovelace ", TODAY).name == "Ada Lovelace"


def test_a_card_is_valid_through_the_last_day_of_its_expiry_month():
    assert read_card(VISA, "11/26", "123", "Ada", TODAY).exp_month == 11
    assert read_card(VISA, "11/26", "123", "Ada", date(2026, 11, 30)).exp_year == 2026
    with pytest.raises(InvalidCard):
        read_card(VISA, "11/26", "123", "Ada", date(2026, 12, 1))


def test_a_card_that_expired_last_month_is_refused_as_expired():
    assert problems(expiry="10/26") == [CardProblem(EXPIRY, "expired")]
    assert problems(expiry="12/2025") == [CardProblem(EXPIRY, "expired")]


def test_an_expiry_up_to_twenty_years_ahead_is_accepted_and_no_further():
    assert read_card(VISA, "11/2046", "123", "Ada", TODAY).exp_year == 2046
    assert problems(expiry="12/2046") == [CardProblem(EXPIRY, "invalid_expiry")]


@pytest.mark.parametrize("expiry", ["13/28", "00/28", "12-28", "1228x", "122028", "", "12/8"])
def test_an_expiry_that_is_not_a_month_and_year_is_refused(expiry):
    assert problems(expiry=expiry) == [CardProblem(EXPIRY, "invalid_expiry")]


# -- every mistake -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "cvc"),
    [
        ("4242424242424241", "123"),  # Luhn
        ("4242 4242 4242 424", "123"),  # a digit short
        ("4242.4242.4242.4242", "123"),  # not a separator we accept
        ("", "123"),
        (with_check_digit("42424242424242"), "123"),  # 15-digit Visa: passes Luhn, wrong length
        (with_check_digit("3782822463100050"), "1234"),  # 17-digit Amex
        (with_check_digit("42424242424242424242"), "123"),  # 21 digits
    ],
)
def test_a_wrong_card_number_is_refused(number, cvc):
    assert problems(number=number, cvc=cvc) == [CardProblem(NUMBER, "invalid_number")]


@pytest.mark.parametrize("number", ["3530111333300000", "36227206271667", "6200000000000005"])
def test_a_real_card_of_a_brand_we_do_not_take_is_unsupported_rather_than_invalid(number):
    assert luhn_valid(number)
    assert problems(number=number) == [CardProblem(NUMBER, "unsupported_brand")]


@pytest.mark.parametrize(
    ("number", "cvc"),
    [(VISA, "1234"), (VISA, "12"), (VISA, "12a"), (AMEX, "123"), (AMEX, "12345"), (VISA, "")],
)
def test_a_security_code_of_the_wrong_length_for_the_brand_is_refused(number, cvc):
    assert problems(number=number, cvc=cvc) == [CardProblem(CVC, "invalid_cvc")]


def test_when_the_brand_is_unknown_a_three_or_four_digit_code_is_not_a_second_mistake():
    assert problems(number="1234", cvc="1234") == [CardProblem(NUMBER, "invalid_number")]
    assert problems(number="1234", cvc="123") == [CardProblem(NUMBER, "invalid_number")]


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_a_card_without_a_name_is_refused(name):
    assert problems(name=name) == [CardProblem(NAME, "missing_name")]


def test_a_name_of_a_hundred_characters_is_accepted_and_longer_is_refused():
    assert read_card(VISA, "12/28", "123", "A" * 100, TODAY).name == "A" * 100
    assert problems(name="A" * 101) == [CardProblem(NAME, "invalid_name")]


def test_every_mistake_is_reported_at_once_in_the_order_of_the_form():
    found = problems(number="4242424242424241", expiry="01/20", cvc="1", name=" ")

    assert found == [
        CardProblem(NUMBER, "invalid_number"),
        CardProblem(EXPIRY, "expired"),
        CardProblem(CVC, "invalid_cvc"),
        CardProblem(NAME, "missing_name"),
    ]


def test_an_invalid_card_is_invalid_input_with_a_sentence_per_problem():
    with pytest.raises(InvalidInput, match="the card has expired; the security code"):
        read_card(VISA, "01/20", "1", "Ada", TODAY)


# -- secrets stay secret ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "cvc"),
    [
        ("4242 4242 4242 4242", "987"),  # valid number, bad expiry below
        ("4242424242424241", "987"),  # invalid number
        ("3530111333300000", "9876"),  # unsupported brand
        (VISA, "98765"),  # invalid CVC
    ],
)
def test_an_invalid_card_never_shows_the_number_or_the_security_code(number, cvc):
    with pytest.raises(InvalidCard) as caught:
        read_card(number, "01/20", cvc, "Ada", TODAY)

    shown = " ".join([str(caught.value), repr(caught.value), *map(str, caught.value.args)])
    digits = number.replace(" ", "")
    assert digits not in shown
    assert digits[:6] not in shown  # not even the IIN
    assert cvc not in shown


def test_a_card_shows_itself_as_its_brand_and_last_four_digits_only():
    card = read_card(VISA, "12/28", "987", "Ada Lovelace", TODAY)

    for shown in (repr(card), str(card), f"{card}", f"{[card]}"):
        assert "4242" in shown
        assert "visa" in shown
        assert VISA not in shown
        assert "424242" not in shown
        assert "987" not in shown
        assert "Lovelace" not in shown
    assert repr(card) == "CardEntry(brand=visa, last4=4242)"


def test_a_card_entry_cannot_be_changed_once_read():
    card = CardEntry(VISA, 12, 2028, "123", "Ada")

    with pytest.raises(AttributeError):
        card.number = "4000000000000002"
