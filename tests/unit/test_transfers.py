"""Bank transfers: ISO 11649 creditor references and IBANs shown half-hidden."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.domain.errors import InvalidInput
from relance.domain.transfers import (
    creditor_reference,
    format_reference,
    is_valid_reference,
    mask_iban,
)


def test_the_standard_example_gets_its_published_check_digits():
    # ISO 11649's own example: the seed 539007547034 is RF18 5390 0754 7034.
    assert creditor_reference("539007547034") == "RF18539007547034"
    assert format_reference("RF18539007547034") == "RF18 5390 0754 7034"


@pytest.mark.parametrize(
    ("seed", "reference"),
    [
        ("2348231", "RF712348231"),
        ("G72UUR", "RF45G72UUR"),  # letters count as 10..35
        ("g72uur", "RF45G72UUR"),
        ("7", "RF097"),  # check digits below 10 keep their zero
        ("53 9007 5470 34", "RF18539007547034"),
    ],
)
def test_a_reference_is_built_from_letters_and_digits_in_compact_upper_case(seed, reference):
    assert creditor_reference(seed) == reference
    assert is_valid_reference(reference)


@pytest.mark.parametrize("seed", ["", "A" * 22, "INV-2026", "facture n°1", "ÉTÉ"])
def test_a_seed_that_is_not_one_to_twenty_one_letters_or_digits_is_refused(seed):
    with pytest.raises(InvalidInput, match="1 to 21 letters or digits"):
        creditor_reference(seed)


@pytest.mark.parametrize(
    "reference",
    [
        "RF18539007547034",
        "RF18 5390 0754 7034",
        "rf18 5390 0754 7034",
        "RF712348231",
        "RF45 G72U UR",
        "RF097",
    ],
)
def test_a_reference_with_the_right_check_digits_is_valid_however_it_is_spaced(reference):
    assert is_valid_reference(reference)


@pytest.mark.parametrize(
    "reference",
    [
        "RF19539007547034",  # wrong check digits
        "RF18539007547035",  # a mistyped character
        "RF18539007574034",  # two characters swapped
        "RF702348231",
        "RF71",  # nothing to refer to
        "RF712348231-",
        "XX18539007547034",
        "RF1A539007547034",
        "RF" + "0" * 24,  # longer than 25 characters
        "",
    ],
)
def test_a_mistyped_or_malformed_reference_is_not_valid(reference):
    assert not is_valid_reference(reference)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21))
def test_every_reference_built_is_valid_and_fits_in_25_characters(seed):
    reference = creditor_reference(seed)

    assert is_valid_reference(reference)
    assert is_valid_reference(format_reference(reference))
    assert len(reference) <= 25
    assert reference.endswith(seed)


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=21),
    st.integers(0, 20),
    st.sampled_from("0123456789"),
)
def test_any_one_mistyped_digit_makes_a_numeric_reference_invalid(seed, where, char):
    # MOD 97 catches every single substitution within digits (97 is prime, above 9 * 10^0).
    reference = creditor_reference(seed)
    position = 4 + where % len(seed)
    changed = reference[:position] + char + reference[position + 1 :]

    assert is_valid_reference(changed) is (changed == reference)


def test_a_reference_is_formatted_in_groups_of_four_from_any_spacing():
    assert format_reference("rf71 2348231") == "RF71 2348 231"
    assert format_reference("RF45G72UUR") == "RF45 G72U UR"


@pytest.mark.parametrize(
    ("iban", "masked"),
    [
        ("FR7630006000011234567890189", "FR76 •••• •••• •••• •••• •••• 189"),
        ("FR76 3000 6000 0112 3456 7890 189", "FR76 •••• •••• •••• •••• •••• 189"),
        ("de89 3704 0044 0532 0130 00", "DE89 •••• •••• •••• •••0 00"),
        ("NO9386011117947", "NO93 •••• •••• 947"),
    ],
)
def test_an_iban_shows_only_its_country_check_digits_and_last_three_characters(iban, masked):
    assert mask_iban(iban) == masked


def test_a_masked_iban_keeps_the_length_of_the_account_number():
    iban = "FR7630006000011234567890189"

    assert len(mask_iban(iban).replace(" ", "")) == len(iban)
    assert "3000" not in mask_iban(iban)


def test_a_string_too_short_to_be_an_iban_is_masked_almost_entirely():
    assert mask_iban("FR7630") == "FR••" + " ••"
